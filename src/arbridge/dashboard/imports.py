"""File imports in the dashboard: upload an export, choose its columns once, see each row's errors.

For every connection whose connector reads files (Capabilities.files),
drawn from its `columns`: nothing here names a vendor. An upload whose
headers the saved mapping covers is checked at once; otherwise the person
maps the file's columns, the mapping is saved for the connection's next
files, and the file is checked by it. A refused file lists every row's
error and imports nothing.
"""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from arbridge.connectors.base import Column, guess_mapping
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Connection, Membership
from arbridge.integrations.files import imports
from arbridge.integrations.files.models import ColumnMapping, ImportFile, imported_hashes

NOT_IN_FILE = ""


def file_connection(request: HttpRequest, connection_id: int) -> Connection:
    connection = get_object_or_404(
        Connection.objects.for_partner(request.partner), pk=connection_id
    )
    if not imports.takes_files(connection):
        raise Http404("This connection does not import files.")
    return connection


class UploadForm(forms.Form):
    file = forms.FileField(label="Export file", help_text="The CSV invoice export, as downloaded.")


class ColumnsForm(forms.Form):
    """One choice per column the connector reads, among the file's headers."""

    def __init__(self, columns: tuple[Column, ...], headers: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(NOT_IN_FILE, "— not in this file —"), *((h, h) for h in headers if h)]
        for column in columns:
            self.fields[column.name] = forms.ChoiceField(
                label=column.title + ("" if column.required else " (optional)"),
                choices=choices,
                required=column.required,
                help_text=column.help,
            )


@member_required(Membership.can_manage)
def files(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Upload an export file; list the files received and how each ended."""
    connection = file_connection(request, connection_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not connection.is_active:
        messages.error(request, f"Connect {connection} again to import its files.")
        return redirect("dashboard:connection", connection_id=connection.pk)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        received = imports.receive(connection, upload.name, upload.read(), user=request.user)
        AuditEntry.record(
            request.partner,
            "file.received",
            actor=request.user,
            target=str(connection),
            file=received.file.name,
            status=received.file.status,
        )
        if received.duplicate:
            messages.info(request, f"{received.file} was imported before: nothing changed.")
        if received.file.status == ImportFile.Status.UNMAPPED:
            return redirect("dashboard:file_columns", connection.pk, received.file.pk)
        return redirect("dashboard:import_file", connection.pk, received.file.pk)
    imported = imported_hashes(connection)
    received = list(
        ImportFile.objects.filter(connection=connection).defer("content").order_by("-id")[:50]
    )
    for file in received:
        file.is_imported = file.sha256 in imported
    ctx = {
        "page": "connections",
        "connection": connection,
        "form": form,
        "files": received,
        "mapping": mapping_rows(connection, ColumnMapping.of(connection)),
        "folder": imports.watched_folder(connection),
    }
    return render(request, "dashboard/imports/files.html", ctx, status=400 if form.errors else 200)


def mapping_rows(connection: Connection, mapping: dict[str, str]) -> list[tuple[str, str]]:
    return [(c.title, mapping.get(c.name, "")) for c in imports.columns(connection)]


@member_required(Membership.can_manage)
def file_columns(request: HttpRequest, connection_id: int, file_id: int) -> HttpResponse:
    """Choose which of the file's columns holds what; saved for the connection's next files."""
    connection = file_connection(request, connection_id)
    file = get_object_or_404(ImportFile.objects.filter(connection=connection), pk=file_id)
    if file.status == ImportFile.Status.ACCEPTED:
        return redirect("dashboard:import_file", connection.pk, file.pk)
    headers = imports.importer(connection).headers(bytes(file.content))
    saved = ColumnMapping.of(connection)
    columns = imports.columns(connection)
    guess = {**guess_mapping(columns, headers), **{k: v for k, v in saved.items() if v in headers}}
    form = ColumnsForm(columns, headers, request.POST or None, initial=guess)
    if request.method == "POST" and form.is_valid():
        chosen = {name: header for name, header in form.cleaned_data.items() if header}
        ColumnMapping.save_for(connection, chosen, request.user)
        imports.check(file, chosen)
        return redirect("dashboard:import_file", connection.pk, file.pk)
    ctx = {"page": "connections", "connection": connection, "file": file, "form": form}
    return render(
        request, "dashboard/imports/columns.html", ctx, status=400 if form.errors else 200
    )


@member_required()
def import_file(request: HttpRequest, connection_id: int, file_id: int) -> HttpResponse:
    """Show a received file: imported, waiting, or refused with each row's error."""
    connection = file_connection(request, connection_id)
    file = get_object_or_404(
        ImportFile.objects.filter(connection=connection).defer("content"), pk=file_id
    )
    ctx = {
        "page": "connections",
        "connection": connection,
        "file": file,
        "is_imported": file.sha256 in imported_hashes(connection),
        "mapping": mapping_rows(connection, file.mapping),
    }
    return render(request, "dashboard/imports/file.html", ctx)
