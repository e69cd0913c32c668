"""The GraphQL operations arbridge sends to SuperOps.

# Reference: https://developer.superops.com/msp/#operation/getClientList
# Reference: https://developer.superops.com/msp/#operation/getInvoiceList
# Reference: https://developer.superops.com/msp/#operation/getInvoice
"""

CONTACT_FIELDS = "userId firstName lastName email contactNumber"

CLIENTS = f"""
query getClientList($input: ListInfoInput!) {{
  getClientList(input: $input) {{
    clients {{
      accountId name email phone status updatedTime
      billingContact {{ {CONTACT_FIELDS} }}
      primaryContact {{ {CONTACT_FIELDS} }}
    }}
    listInfo {{ page pageSize hasMore totalCount }}
  }}
}}
"""

INVOICE_FIELDS = """
      invoiceId displayId invoiceDate dueDate statusEnum currencyCode
      totalAmount amountDue notes updatedTime paymentTerm
      client { accountId }
      items { itemId details serviceItemName quantity unitPrice taxAmount total }
"""

INVOICES = f"""
query getInvoiceList($input: ListInfoInput!) {{
  getInvoiceList(input: $input) {{
    invoices {{ {INVOICE_FIELDS} }}
    listInfo {{ page pageSize hasMore totalCount }}
  }}
}}
"""

CLIENT_IDS = """
query getClientList($input: ListInfoInput!) {
  getClientList(input: $input) { clients { accountId } listInfo { hasMore } }
}
"""

INVOICE_IDS = """
query getInvoiceList($input: ListInfoInput!) {
  getInvoiceList(input: $input) { invoices { invoiceId } listInfo { hasMore } }
}
"""

INVOICE = f"""
query getInvoice($input: InvoiceIdentifierInput!) {{
  getInvoice(input: $input) {{ {INVOICE_FIELDS} }}
}}
"""

CLIENT = f"""
query getClient($input: ClientIdentifierInput!) {{
  getClient(input: $input) {{
    accountId name email phone status updatedTime
    billingContact {{ {CONTACT_FIELDS} }}
    primaryContact {{ {CONTACT_FIELDS} }}
  }}
}}
"""

# A payment arbridge wrote carries its reference: a retry looks for it first.
PAYMENTS = """
query getInvoice($input: InvoiceIdentifierInput!) {
  getInvoice(input: $input) { invoiceId payments { paymentId amount reference } }
}
"""

RECORD_PAYMENT = """
mutation recordInvoicePayment($input: RecordInvoicePaymentInput!) {
  recordInvoicePayment(input: $input) { paymentId amount reference }
}
"""

DELETE_PAYMENT = """
mutation deleteInvoicePayment($input: InvoicePaymentIdentifierInput!) {
  deleteInvoicePayment(input: $input)
}
"""
