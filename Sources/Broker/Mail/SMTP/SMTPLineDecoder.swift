import NIOCore

/// Splits the server's bytes into lines (without CRLF or a lone LF), for ``SMTPReplyParser``.
struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String

    /// The longest line accepted (RFC 5321 allows 512 octets in a reply line; this leaves room).
    static let maxLineLength = 4_096

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineLength { throw MailDeliveryError.transient("SMTP reply line too long") }
            return .needMoreData
        }
        guard var line = buffer.readString(length: newline - buffer.readerIndex) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}
