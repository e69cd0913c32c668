"""What the vendor sandboxes share: JSON with exact amounts, faults, rate windows, PDFs."""
