namespace EdgeEvents.Contracts.Topics;

/// <summary>
/// The name of an edge site as it appears at the hub (<c>sites/{site}/...</c>), in broker user names and in
/// NATS account names: lower-case ASCII letters, digits and <c>-</c>, starting with a letter or digit, at most 63.
/// </summary>
public static class SiteName
{
    public const int MaxLength = 63;

    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && name[0] != '-' &&
        name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <summary>Returns <paramref name="name"/> if it is a valid site name.</summary>
    /// <exception cref="ArgumentException">It is not: the message says what is allowed.</exception>
    public static string Validate(string? name) => IsValid(name)
        ? name!
        : throw new ArgumentException(
            $"Site name '{name}' is not valid: use lower-case letters, digits and '-' (not first), " +
            $"at most {MaxLength} characters, e.g. 'plant-a'.");
}
