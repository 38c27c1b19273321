/// The HMA release this binary is. Reported by `hma --version`, `/health`
/// and (later) the `welcome` message.
public enum HMAVersion {
    public static let current = "0.1.0"
}
