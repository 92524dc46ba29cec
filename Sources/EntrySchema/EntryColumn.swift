/// The names an entry's stored forms have beside its fields (`EntryField`), each declared once: the columns of the
/// entries tables and the keys of JSONL lines that are not one field each.
public enum EntryColumn {
    /// The cache key: the primary key of the entries tables, the first key of a JSONL line.
    public static let key = "key"
    /// The whole proxy URL as a Fernet token, when it carries a password (the `proxy_url` column then holds it
    /// masked). Schema version 2.
    public static let sealedProxyURL = "proxy_url_encrypted"
    /// The entry's custom fields as JSON, NULL (or absent from a line) when it has none. Schema version 3.
    public static let customFields = "custom_fields"
    /// L3's time of the row's first write, kept by updates.
    public static let createdAt = "created_at"
    /// L3's time of the row's last write.
    public static let updatedAt = "updated_at"
}
