using System.Security.Cryptography;
using System.Text;

namespace EdgeEvents.Pipeline.Security;

/// <summary>
/// Password hashes in mosquitto's format (<c>$7$iterations$salt$hash</c>: PBKDF2-HMAC-SHA512, base64), so one
/// password file made with <c>mosquitto_passwd</c> serves mosquitto and the embedded broker alike.
/// </summary>
public static class PasswordHash
{
    /// <summary>mosquitto_passwd's own default; raise it for new hashes if logins are rare.</summary>
    public const int DefaultIterations = 101;
    private const int SaltBytes = 12;
    private const int HashBytes = 64;

    public static string Create(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(
            Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return $"$7${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>
    /// True if <paramref name="password"/> matches <paramref name="encoded"/>; false for a wrong password or a hash in
    /// another format.
    /// </summary>
    public static bool Verify(string password, string encoded)
    {
        var parts = encoded.Split('$');
        // "$7$101$salt$hash" splits into "", "7", "101", salt, hash.
        if (parts.Length != 5 || parts[0].Length != 0 || parts[1] != "7"
            || !int.TryParse(parts[2], out var iterations) || iterations < 1)
        {
            return false;
        }
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[3]);
            expected = Convert.FromBase64String(parts[4]);
        }
        catch (FormatException)
        {
            return false;
        }
        var actual = Rfc2898DeriveBytes.Pbkdf2(
            Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Reads a mosquitto password file (<c>user:hash</c> per line; <c>#</c> comments).</summary>
    public static Dictionary<string, string> ReadFile(string path)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0) throw new FormatException($"Password file '{path}' has a line without 'user:hash'.");
            users[line[..colon]] = line[(colon + 1)..];
        }
        return users;
    }
}
