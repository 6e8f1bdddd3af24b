public import Foundation

/// A decoded message with what the frame carried around it (specification 2.2).
public struct Envelope<Message: Sendable>: Sendable {
    /// The frame header (stream id, flags, version).
    public var header: FrameHeader
    /// The tracing session id of a traced response (tracing flag).
    public var tracingID: UUID?
    /// Server warnings of a response (warning flag); empty when none.
    public var warnings: [String]
    /// The custom payload (custom payload flag), in wire order.
    public var customPayload: [(String, [UInt8]?)]?
    /// The message.
    public var message: Message

    /// An envelope around `message`.
    public init(header: FrameHeader, tracingID: UUID? = nil, warnings: [String] = [],
                customPayload: [(String, [UInt8]?)]? = nil, message: Message) {
        self.header = header
        self.tracingID = tracingID
        self.warnings = warnings
        self.customPayload = customPayload
        self.message = message
    }

    /// The stream id the frame travelled on.
    public var stream: Int16 { header.stream }
}

extension Envelope: Equatable where Message: Equatable {
    public static func == (lhs: Envelope, rhs: Envelope) -> Bool {
        guard lhs.header == rhs.header, lhs.tracingID == rhs.tracingID, lhs.warnings == rhs.warnings,
              lhs.message == rhs.message else { return false }
        switch (lhs.customPayload, rhs.customPayload) {
        case (nil, nil): return true
        case let (a?, b?): return a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

extension Frame {
    /// The protocol version this codec decodes.
    public static let supportedVersion: UInt8 = 4

    /// The body after decompression, checked against the frame's direction, version and opcode.
    private func plainBody(response: Bool, compression: FrameCompression?, maxBodyLength: Int) throws(WireError) -> (Opcode, [UInt8]) {
        guard header.version == Self.supportedVersion else { throw .unsupportedVersion(header.version) }
        guard header.isResponse == response else {
            throw .invalidValue(what: "frame direction", detail: response ? "expected a response, got a request" : "expected a request, got a response")
        }
        guard let opcode = header.knownOpcode else { throw .unknownOpcode(header.opcode) }
        guard opcode.isRequest != response else {
            throw .invalidValue(what: "opcode", detail: "\(opcode) cannot travel in a \(response ? "response" : "request")")
        }
        guard header.flags.contains(.compression) else { return (opcode, body) }
        guard let compression else {
            throw .compression(algorithm: "none", detail: "compressed frame but no compression was negotiated")
        }
        return (opcode, try compression.decompress(body, maxLength: maxBodyLength))
    }

    /// The ERROR of an uncompressed response frame in any protocol version, or nil for other frames.
    ///
    /// A server refusing the version a client offered answers ERROR in that version or in its
    /// own; the ERROR layout is the same in v3 to v5, so this reads why the version was refused
    /// where ``decodeResponse(compression:maxBodyLength:)`` throws ``WireError/unsupportedVersion(_:)``.
    package func decodeVersionRefusal() throws(WireError) -> ServerError? {
        guard header.isResponse, header.opcode == Opcode.error.rawValue, !header.flags.contains(.compression) else {
            return nil
        }
        var reader = ByteReader(body)
        if header.flags.contains(.tracing) { _ = try reader.readUUID("tracing id") }
        if header.flags.contains(.warning) { _ = try reader.readStringList("warnings") }
        if header.flags.contains(.customPayload) { _ = try reader.readBytesMap("custom payload") }
        let error = try ServerError(from: &reader)
        try reader.expectEnd("ERROR body")
        return error
    }

    /// Decodes a request frame: custom payload (if flagged), then the message, consuming the body exactly.
    package func decodeRequest(compression: FrameCompression?,
                              maxBodyLength: Int = 256 * 1024 * 1024) throws(WireError) -> Envelope<RequestMessage> {
        let (opcode, body) = try plainBody(response: false, compression: compression, maxBodyLength: maxBodyLength)
        var reader = ByteReader(body)
        let payload = header.flags.contains(.customPayload) ? try reader.readBytesMap("custom payload") : nil
        let message = try RequestMessage(opcode: opcode, body: &reader)
        return Envelope(header: header, customPayload: payload, message: message)
    }

    /// Decodes a response frame: tracing id, warnings, custom payload (each if flagged), then the message.
    package func decodeResponse(compression: FrameCompression?,
                               maxBodyLength: Int = 256 * 1024 * 1024) throws(WireError) -> Envelope<ResponseMessage> {
        var cache = RowsMetadataCache()
        return try decodeResponse(compression: compression, maxBodyLength: maxBodyLength, metadataCache: &cache)
    }

    /// Decodes a response frame; rows metadata may be one `metadataCache` already decoded.
    package func decodeResponse(compression: FrameCompression?, maxBodyLength: Int,
                                metadataCache: inout RowsMetadataCache) throws(WireError) -> Envelope<ResponseMessage> {
        let (opcode, body) = try plainBody(response: true, compression: compression, maxBodyLength: maxBodyLength)
        var reader = ByteReader(body)
        let tracingID = header.flags.contains(.tracing) ? try reader.readUUID("tracing id") : nil
        let warnings = header.flags.contains(.warning) ? try reader.readStringList("warnings") : []
        let payload = header.flags.contains(.customPayload) ? try reader.readBytesMap("custom payload") : nil
        let message = try ResponseMessage(opcode: opcode, body: &reader, metadataCache: &metadataCache)
        return Envelope(header: header, tracingID: tracingID, warnings: warnings, customPayload: payload, message: message)
    }

    /// Header and body bytes; the body is compressed when a compression applies and it is not empty.
    ///
    /// Empty bodies stay uncompressed: the specification lets any frame go uncompressed, and
    /// an LZ4 or Snappy encoding of nothing only adds bytes.
    static func encode(header: FrameHeader, body: [UInt8], compression: FrameCompression?) -> [UInt8] {
        var header = header
        var body = body
        if let compression, !body.isEmpty {
            body = compression.compress(body)
            header.flags.insert(.compression)
        } else {
            header.flags.remove(.compression)
        }
        header.length = Int32(clamping: body.count)
        var writer = ByteWriter(capacity: FrameHeader.size + body.count)
        header.encode(into: &writer)
        writer.writeRaw(body)
        return writer.bytes
    }
}

extension RequestMessage {
    /// The frame carrying this request. STARTUP and OPTIONS are never compressed: they precede or
    /// negotiate the compression (specification section 5).
    package func encodeFrame(stream: Int16, version: UInt8 = 4, tracing: Bool = false,
                            customPayload: [(String, [UInt8]?)]? = nil,
                            compression: FrameCompression? = nil) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        var flags: FrameFlags = []
        if tracing { flags.insert(.tracing) }
        if let customPayload {
            flags.insert(.customPayload)
            writer.writeBytesMap(customPayload)
        }
        encode(into: &writer)
        let header = FrameHeader(version: version, isResponse: false, flags: flags, stream: stream,
                                 opcode: opcode.rawValue, length: 0)
        let usable = opcode == .startup || opcode == .options ? nil : compression
        return Frame.encode(header: header, body: writer.bytes, compression: usable)
    }
}

extension ResponseMessage {
    /// The frame carrying this response, with the optional tracing id, warnings and custom payload.
    package func encodeFrame(stream: Int16, version: UInt8 = 4, tracingID: UUID? = nil, warnings: [String] = [],
                            customPayload: [(String, [UInt8]?)]? = nil, compression: FrameCompression? = nil,
                            useBeta: Bool = false) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        var flags: FrameFlags = []
        if useBeta { flags.insert(.useBeta) }
        if let tracingID {
            flags.insert(.tracing)
            writer.writeUUID(tracingID)
        }
        if !warnings.isEmpty {
            flags.insert(.warning)
            writer.writeStringList(warnings)
        }
        if let customPayload {
            flags.insert(.customPayload)
            writer.writeBytesMap(customPayload)
        }
        encode(into: &writer)
        let header = FrameHeader(version: version, isResponse: true, flags: flags, stream: stream,
                                 opcode: opcode.rawValue, length: 0)
        return Frame.encode(header: header, body: writer.bytes, compression: compression)
    }
}
