/// Cassandra's `PasswordAuthenticator`: SASL PLAIN over AUTHENTICATE / AUTH_RESPONSE / AUTH_SUCCESS,
/// checked against a fixed set of users.
struct PasswordAuthenticator: Sendable, Equatable {
    /// The Java class name Cassandra announces in AUTHENTICATE; drivers pick their authenticator by it.
    static let className = "org.apache.cassandra.auth.PasswordAuthenticator"

    /// Passwords by user name.
    var users: [String: String]

    /// An authenticator accepting exactly these users.
    init(users: [String: String]) { self.users = users }

    /// An authenticator with one user.
    init(username: String, password: String) { self.users = [username: password] }

    /// Why a token was refused; `message` is Cassandra's text for the 0x0100 error.
    struct Failure: Error, Equatable, Sendable {
        /// The message of the AuthenticationException Cassandra would raise.
        var message: String
    }

    /// Checks a SASL PLAIN token (`authzid \0 authcid \0 password`) and returns the user name.
    ///
    /// Like Cassandra's PlainTextSaslAuthenticator the token is split on its last two NULs, so
    /// the authorization id is ignored and a user name cannot contain NUL.
    func authenticate(token: [UInt8]?) -> Result<String, Failure> {
        let bytes = token ?? []
        guard let passwordSeparator = bytes.lastIndex(of: 0) else {
            return .failure(Failure(message: "Password must not be null"))
        }
        let passwordBytes = bytes[(passwordSeparator + 1)...]
        let userStart = bytes[..<passwordSeparator].lastIndex(of: 0).map { $0 + 1 } ?? bytes.startIndex
        let userBytes = bytes[userStart..<passwordSeparator]
        guard !userBytes.isEmpty else { return .failure(Failure(message: "Authentication ID must not be null")) }
        let username = String(decoding: userBytes, as: UTF8.self)
        let password = String(decoding: passwordBytes, as: UTF8.self)
        guard let expected = users[username], constantTimeEqual(Array(expected.utf8), Array(password.utf8)) else {
            return .failure(Failure(message: "Provided username \(username) and/or password are incorrect"))
        }
        return .success(username)
    }

    /// Compares without an early exit so response timing does not reveal a matching prefix.
    private func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
