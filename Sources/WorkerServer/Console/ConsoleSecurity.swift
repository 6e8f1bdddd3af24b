import Foundation
import Hummingbird

/// The console's protections: the API token in an `HttpOnly`, `SameSite=Strict` cookie set by the
/// sign-in form (never in a URL), a CSRF token (double submit: a cookie and a hidden field that must
/// agree) on every state-changing request, and headers that forbid inline script and style, framing
/// and sniffing.
enum ConsoleSecurity {
    /// The cookie carrying the API token.
    static let tokenCookie = "scheduler_token"
    /// The cookie carrying the CSRF token.
    static let csrfCookie = "scheduler_csrf"
    /// The form field carrying the CSRF token.
    static let csrfField = "csrf"
    /// Cookies live under the console's path only.
    static let cookiePath = "/ui"

    /// Scripts, styles and fetches from this origin only; no inline code, no plug-ins, no framing.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// The headers of every console response.
    static func headers(contentType: String, cacheable: Bool = false) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        fields[.contentSecurityPolicy] = contentSecurityPolicy
        fields[.xContentTypeOptions] = "nosniff"
        // A constant, valid field name: the initializer checks its characters.
        if let referrerPolicy = HTTPFields.Element.Name("Referrer-Policy") { fields[referrerPolicy] = "no-referrer" }
        fields[.cacheControl] = cacheable ? "public, max-age=300" : "no-store"
        return fields
    }

    /// A fresh random token: 32 bytes from the system's secure generator, hex-encoded.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Bytes as lower-case hex (cookie-safe whatever the bytes are).
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether `presented` equals `expected`, compared in constant time.
    static func matches(_ presented: String?, _ expected: [UInt8]) -> Bool {
        guard let presented else { return false }
        return BearerTokenMiddleware<BasicRequestContext>.constantTimeEqual(Array(presented.utf8), expected)
    }

    /// The cookie holding the API token after a sign-in (a browser session cookie).
    static func signInCookie(token: String) -> Cookie {
        Cookie(name: tokenCookie, value: token, path: cookiePath, httpOnly: true, sameSite: .strict)
    }

    /// The cookie that removes the API token (sign-out).
    static func signOutCookie() -> Cookie {
        Cookie(name: tokenCookie, value: "", maxAge: 0, path: cookiePath, httpOnly: true, sameSite: .strict)
    }

    /// The CSRF cookie.
    static func csrfCookie(_ value: String) -> Cookie {
        Cookie(name: csrfCookie, value: value, path: cookiePath, httpOnly: true, sameSite: .strict)
    }
}
