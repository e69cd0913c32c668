"""File imports: the export files a partner hands over for a connector that reads files.

For a kind whose Capabilities say `files` (its connector a FileImporter): a
file uploaded in the dashboard, or placed in the connection's folder, is
checked whole against the connection's saved column mapping, kept if every
row is right (refused with every row's error otherwise, nothing imported),
and handed to the connector's `pull` as `Runtime.files` by the next sync.
"""
