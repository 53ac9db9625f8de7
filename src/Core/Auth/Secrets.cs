using System.Security.Cryptography;
using System.Text;

namespace MonkeyCoder.Core.Auth;

/// <summary>Random secrets, their hashes and the formats of keys and codes.</summary>
internal static class Secrets
{
    public const string ApiKeyPrefix = "mk_";

    /// <summary>"mk_" + 10 characters: the public part of a key stored for lookup.</summary>
    public const int ApiKeyLookupLength = 13;

    private const string LowerAlphanumeric = "abcdefghijklmnopqrstuvwxyz0123456789";

    // RFC 8628 §6.1: no vowels (no words), no ambiguous characters.
    private const string UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";

    /// <summary>A new API key: <c>mk_</c> + 10 lower-case alphanumerics + <c>_</c> + 43 base64url characters (256 bits).</summary>
    public static string NewApiKey() => ApiKeyPrefix + RandomNumberGenerator.GetString(LowerAlphanumeric, 10) + "_" + NewToken(32);

    /// <summary>The lookup prefix of a well-formed key, or null.</summary>
    public static string? LookupPrefix(string key) =>
        key.Length >= 32 && key.Length <= 203 && key.StartsWith(ApiKeyPrefix, StringComparison.Ordinal) && IsUrlSafe(key)
            ? key[..ApiKeyLookupLength]
            : null;

    /// <summary>Base64url of <paramref name="bytes"/> random bytes.</summary>
    public static string NewToken(int bytes) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    /// <summary>A user code XXXX-XXXX from the RFC 8628 alphabet (20^8 ≈ 2^34.6 codes).</summary>
    public static string NewUserCode()
    {
        var code = RandomNumberGenerator.GetString(UserCodeAlphabet, 8);
        return code[..4] + "-" + code[4..];
    }

    /// <summary>Upper-cases and strips everything but letters, then re-inserts the dash; null when not 8 letters.</summary>
    public static string? NormalizeUserCode(string input)
    {
        var letters = new StringBuilder(8);
        foreach (var c in input)
        {
            if (char.IsAsciiLetter(c))
            {
                letters.Append(char.ToUpperInvariant(c));
            }
        }

        return letters.Length == 8 ? letters.ToString(0, 4) + "-" + letters.ToString(4, 4) : null;
    }

    public static byte[] Sha256(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Constant-time equality of two hashes.</summary>
    public static bool HashEquals(byte[] a, byte[] b) => CryptographicOperations.FixedTimeEquals(a, b);

    /// <summary>Time-ordered ids (UUIDv7) with a type prefix, e.g. <c>usr_…</c>, <c>key_…</c>.</summary>
    public static string NewId(string prefix) => prefix + "_" + Guid.CreateVersion7().ToString("N");

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool IsUrlSafe(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
            {
                return false;
            }
        }

        return true;
    }
}
