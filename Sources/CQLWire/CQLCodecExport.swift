// The codec's public types (values, consistency, server errors, rows) are part of the client's
// API: `import CQLWire` brings them, so a user of the client never imports CQLCodec.
@_exported public import CQLCodec
