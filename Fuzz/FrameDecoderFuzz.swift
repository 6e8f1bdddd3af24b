// libFuzzer entry: the streaming frame decoder and every message decoder behind it, in both
// directions and under each compression. Built by scripts/fuzz.sh into one module with the codec.
//
// Oracle: nothing traps; a request that decodes re-encodes to a frame that decodes to the same
// request (the node relies on that to echo what it parsed).

private let maxBody = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var decoder = FrameDecoder(maxBodyLength: maxBody)
    // Split the input in two deliveries so partial headers and bodies are exercised.
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var frames: [Frame] = []
    for chunk in [bytes[..<split], bytes[split...]] {
        decoder.append(Array(chunk))
        while let frame = try? decoder.nextFrame() { frames.append(frame) }
    }
    for frame in frames {
        for compression in [nil, FrameCompression.lz4, .snappy] {
            if let response = try? frame.decodeResponse(compression: compression, maxBodyLength: maxBody),
               case let .result(.rows(rows)) = response.message {
                for row in rows { _ = try? row.values() }
            }
            if let request = try? frame.decodeRequest(compression: compression, maxBodyLength: maxBody) {
                let again = request.message.encodeFrame(stream: request.stream, compression: nil)
                var redecoder = FrameDecoder(maxBodyLength: Int.max)
                redecoder.append(again)
                guard let reframe = try? redecoder.nextFrame(),
                      let redecoded = try? reframe.decodeRequest(compression: nil, maxBodyLength: Int.max),
                      redecoded.message == request.message
                else { fatalError("request did not survive re-encoding: \(request.message)") }
            }
        }
    }
    return 0
}
