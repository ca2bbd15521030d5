using System.Text.Json;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>The broker users and roles shipped in manifests/security (the reliability area's policy files).</summary>
public static class BrokerPolicy
{
    private static readonly string Folder = Path.Combine(Repository.Manifests, "security");

    /// <summary>User name → role, from broker-users.json.</summary>
    public static IReadOnlyDictionary<string, string> Roles { get; } = LoadRoles();

    public static IEnumerable<string> Users => Roles.Keys;

    private static Dictionary<string, string> LoadRoles()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "broker-users.json")));
        return json.RootElement.GetProperty("Broker").GetProperty(nameof(Users)).EnumerateObject()
            .ToDictionary(u => u.Name, u => u.Value.GetProperty("Role").GetString()!, StringComparer.Ordinal);
    }
}
