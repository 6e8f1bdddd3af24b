import CQLCodec

/// Table options (`WITH comment = ... AND compaction = {...}`): validation as Cassandra 4.1 does it, the
/// normalized text kept in ``TableSchema/options``, and the effective values `system_schema.tables` and
/// DESCRIBE show (defaults filled in).
enum TableOptions {
    /// A table option's effective value.
    enum Value: Equatable {
        case text(String)
        case int(Int32)
        case double(Double)
        case boolean(Bool)
        case map([(String, String)])

        static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case let (.text(a), .text(b)): a == b
            case let (.int(a), .int(b)): a == b
            case let (.double(a), .double(b)): a == b
            case let (.boolean(a), .boolean(b)): a == b
            case let (.map(a), .map(b)): a.elementsEqual(b) { $0 == $1 }
            default: false
            }
        }
    }

    static let defaultCompaction: [(String, String)] = [
        ("class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"),
        ("max_threshold", "32"), ("min_threshold", "4"),
    ]
    static let defaultCompression: [(String, String)] = [
        ("chunk_length_in_kb", "16"), ("class", "org.apache.cassandra.io.compress.LZ4Compressor"),
    ]
    static let defaultCaching: [(String, String)] = [("keys", "ALL"), ("rows_per_partition", "NONE")]

    /// Every option Cassandra 4.1 accepts on a table, with its default.
    static let defaults: [(String, Value)] = [
        ("additional_write_policy", .text("99p")),
        ("bloom_filter_fp_chance", .double(0.01)),
        ("caching", .map(defaultCaching)),
        ("cdc", .boolean(false)),
        ("comment", .text("")),
        ("compaction", .map(defaultCompaction)),
        ("compression", .map(defaultCompression)),
        ("memtable", .text("default")),
        ("crc_check_chance", .double(1.0)),
        ("default_time_to_live", .int(0)),
        ("extensions", .map([])),
        ("gc_grace_seconds", .int(864_000)),
        ("max_index_interval", .int(2048)),
        ("memtable_flush_period_in_ms", .int(0)),
        ("min_index_interval", .int(128)),
        ("read_repair", .text("BLOCKING")),
        ("speculative_retry", .text("99p")),
    ]

    /// Options Cassandra 4 still parses but ignores.
    static let obsolete: Set<String> = ["read_repair_chance", "dclocal_read_repair_chance", "index_interval",
                                        "replicate_on_write", "populate_io_cache_on_flush"]

    /// The longest `default_time_to_live` (20 years), as Cassandra's `Attributes.MAX_TTL`.
    static let maxTimeToLive: Int64 = 630_720_000

    /// Validates `WITH` properties of CREATE or ALTER TABLE and returns them normalized for ``TableSchema/options``.
    static func normalize(_ properties: [Property], isCreate: Bool) throws(ServerError) -> [(String, String)] {
        var result: [(String, String)] = []
        var seen = Set<String>()
        for property in properties {
            let name = property.name
            guard seen.insert(name).inserted else {
                throw .syntax("Multiple definition for property \(name)")
            }
            if obsolete.contains(name) { continue }
            if name == "id" {
                guard isCreate else { throw ServerError(.configError, message: "Cannot alter table id.") }
                continue
            }
            guard let defaultValue = defaults.first(where: { $0.0 == name })?.1 else {
                throw .syntax("Unknown property '\(name)'")
            }
            let text = try normalizedText(name: name, value: property.value, default: defaultValue)
            result.append((name, text))
        }
        return result
    }

    private static func normalizedText(name: String, value: PropertyValue, default defaultValue: Value) throws(ServerError) -> String {
        switch defaultValue {
        case .map:
            guard case let .map(entries) = value else {
                throw .syntax("Invalid value for property '\(name)'. It should be a map.")
            }
            let pairs = entries.map { ($0.key, $0.value) }
            return SchemaTypeText.mapLiteral(try normalizeMap(name: name, pairs))
        case .int:
            guard let raw = value.text, let number = Int64(raw) else {
                throw .syntax("Invalid integer value \(value.text ?? "{...}") for '\(name)'")
            }
            try checkRange(name: name, number)
            return String(number)
        case .double:
            guard let raw = value.text, let number = Double(raw) else {
                throw .syntax("Invalid double value \(value.text ?? "{...}") for '\(name)'")
            }
            if name == "bloom_filter_fp_chance", !(number > 0 && number <= 1) {
                throw ServerError(.configError, message: "bloom_filter_fp_chance must be larger than 0.0 and less than or equal to 1.0 (got \(raw))")
            }
            if name == "crc_check_chance", !(number >= 0 && number <= 1) {
                throw ServerError(.configError, message: "crc_check_chance must be larger than or equal to 0 and smaller than or equal to 1.0 (got \(raw))")
            }
            return String(number)
        case .boolean:
            guard let raw = value.text?.lowercased(), raw == "true" || raw == "false" else {
                throw .syntax("Invalid boolean value \(value.text ?? "{...}") for '\(name)'")
            }
            return raw
        case .text:
            guard let raw = value.text else { throw .syntax("Invalid value for property '\(name)'. It should be a string.") }
            if name == "read_repair" {
                let upper = raw.uppercased()
                guard upper == "BLOCKING" || upper == "NONE" else {
                    throw ServerError(.configError, message: "Invalid read repair strategy: \(raw)")
                }
                return upper
            }
            return raw
        }
    }

    private static func checkRange(name: String, _ number: Int64) throws(ServerError) {
        let minimum: Int64 = name == "min_index_interval" ? 1 : 0
        if number < minimum {
            throw ServerError(.configError, message: "\(name) must be greater than or equal to \(minimum) (got \(number))")
        }
        if name == "default_time_to_live", number > maxTimeToLive {
            throw ServerError(.configError, message: "default_time_to_live must be less than or equal to \(maxTimeToLive) (got \(number))")
        }
        if number > Int64(Int32.max) { throw .syntax("Invalid integer value \(number) for '\(name)'") }
    }

    /// Expands short class names and fills the defaults Cassandra adds to compaction, compression and caching maps.
    private static func normalizeMap(name: String, _ entries: [(String, String)]) throws(ServerError) -> [(String, String)] {
        var map = Dictionary(entries, uniquingKeysWith: { _, last in last })
        switch name {
        case "compaction":
            guard let className = map["class"] else {
                throw ServerError(.configError, message: "Missing sub-option 'class' for the 'compaction' option.")
            }
            let known = ["SizeTieredCompactionStrategy", "LeveledCompactionStrategy", "TimeWindowCompactionStrategy",
                         "UnifiedCompactionStrategy"]
            let short = className.hasPrefix("org.apache.cassandra.db.compaction.")
                ? String(className.dropFirst("org.apache.cassandra.db.compaction.".count)) : className
            guard known.contains(short) else {
                throw ServerError(.configError, message: "Unable to find compaction strategy class '\(className)'")
            }
            map["class"] = "org.apache.cassandra.db.compaction." + short
            if short == "SizeTieredCompactionStrategy" || short == "TimeWindowCompactionStrategy" {
                map["max_threshold"] = map["max_threshold"] ?? "32"
                map["min_threshold"] = map["min_threshold"] ?? "4"
            }
        case "compression":
            if map["enabled"] == "false" { return [("enabled", "false")] }
            let className = map["class"] ?? map["sstable_compression"] ?? "LZ4Compressor"
            map["sstable_compression"] = nil
            let known = ["LZ4Compressor", "SnappyCompressor", "DeflateCompressor", "ZstdCompressor", "NoopCompressor"]
            let short = className.hasPrefix("org.apache.cassandra.io.compress.")
                ? String(className.dropFirst("org.apache.cassandra.io.compress.".count)) : className
            guard known.contains(short) else {
                throw ServerError(.configError, message: "Could not create Compression for type \(className)")
            }
            map["class"] = "org.apache.cassandra.io.compress." + short
            map["enabled"] = nil
            map["chunk_length_in_kb"] = map["chunk_length_in_kb"] ?? "16"
        case "caching":
            for key in map.keys where key != "keys" && key != "rows_per_partition" {
                throw ServerError(.configError, message: "Invalid caching sub-options [\(key)]: only \"keys\" and \"rows_per_partition\" are allowed")
            }
            map["keys"] = map["keys"] ?? "ALL"
            map["rows_per_partition"] = map["rows_per_partition"] ?? "NONE"
        default:
            break
        }
        return map.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Every option's effective value for a table, in Cassandra's DESCRIBE order.
    static func effective(_ table: TableSchema) -> [(String, Value)] {
        defaults.map { name, defaultValue in
            guard let text = table.option(name) else { return (name, defaultValue) }
            switch defaultValue {
            case .text: return (name, .text(text))
            case .int: return (name, .int(Int32(text) ?? 0))
            case .double: return (name, .double(Double(text) ?? 0))
            case .boolean: return (name, .boolean(text == "true"))
            case .map: return (name, .map(parseMapLiteral(text)))
            }
        }
    }

    /// Reads back a map written by ``SchemaTypeText/mapLiteral(_:)``.
    static func parseMapLiteral(_ text: String) -> [(String, String)] {
        var strings: [String] = []
        var current = ""
        var inString = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if inString {
                if character == "'" {
                    if let next = characters.next() {
                        if next == "'" {
                            current.append("'")
                            continue
                        }
                        pending = next
                    }
                    inString = false
                    strings.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            } else if character == "'" {
                inString = true
            }
        }
        var result: [(String, String)] = []
        var index = 0
        while index + 1 < strings.count {
            result.append((strings[index], strings[index + 1]))
            index += 2
        }
        return result
    }

    /// A value as DESCRIBE prints it after `name = `.
    static func describeText(_ value: Value) -> String {
        switch value {
        case let .text(text): SchemaTypeText.quoted(text)
        case let .int(number): String(number)
        case let .double(number): javaDouble(number)
        case let .boolean(flag): flag ? "true" : "false"
        case let .map(entries): SchemaTypeText.mapLiteral(entries)
        }
    }

    /// A double as Java's `Double.toString` prints ordinary values (`0.01`, `1.0`).
    static func javaDouble(_ number: Double) -> String {
        let text = String(number)
        return text.contains(".") || text.contains("e") || text.contains("n") ? text : text + ".0"
    }
}
