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
        return (0..<32).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            return String(byte, radix: 16).leftPadded(to: 2)
        }.joined()
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

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
