import CQLWire
import TestSupport

extension TCPProxy {
    /// The frames the clients sent since the recording was last cleared, decoded connection by
    /// connection (a proxy made with `recordsClientBytes`).
    func sentFrames() throws -> [Frame] {
        let chunks = clientChunks
        var frames: [Frame] = []
        for connection in Set(chunks.map(\.connection)).sorted() {
            var decoder = FrameDecoder()
            decoder.append(chunks.filter { $0.connection == connection }.flatMap(\.bytes))
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        return frames
    }
}
