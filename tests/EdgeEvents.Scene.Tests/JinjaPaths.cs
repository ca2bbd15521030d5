using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EdgeEvents.Scene.Tests;

/// <summary>
/// The <c>value_json…</c> paths of a Home Assistant template, evaluated against a real payload:
/// <c>value_json.a.b</c>, <c>value_json.counts['person']</c>, each optionally followed by <c>| default(…)</c>. Enough
/// to prove that a state topic carries what its template reads; not a Jinja engine.
/// </summary>
internal static partial class JinjaPaths
{
    public sealed record PathValue(string Path, JsonNode? Value, bool HasDefault);

    public static List<PathValue> Evaluate(string template, JsonNode payload) =>
        Path().Matches(template).Select(m =>
        {
            JsonNode? node = payload;
            foreach (Capture step in m.Groups["step"].Captures)
            {
                var key = step.Value.StartsWith('.') ? step.Value[1..] : step.Value[2..^2];
                node = node is JsonObject o && o.TryGetPropertyValue(key, out var next) ? next : null;
            }
            return new PathValue(m.Groups["path"].Value, node, m.Groups["default"].Success);
        }).ToList();

    [GeneratedRegex(@"(?<path>value_json(?<step>\.[A-Za-z_][A-Za-z0-9_]*|\['[^']*'\])+)(?<default>\s*\|\s*default\()?")]
    private static partial Regex Path();
}
