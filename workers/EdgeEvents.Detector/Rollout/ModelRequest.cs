using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeEvents.Contracts.Serialization;

namespace EdgeEvents.Detector.Rollout;

/// <summary>
/// The model detectors should run, retained on <c>{prefix}/control/detector/model</c> as JSON:
/// <c>{"version": "v2", "uri": "https://…/v2.onnx", "sha256": "…", "modelType": "YoloV8",
/// "labels": ["person", …], "minAgreement": 0.9, "maxSlowdown": 1.5}</c>.
/// </summary>
public sealed record ModelRequest
{
    /// <summary>Names the model: published as the detections' <c>modelId</c> and in the status.</summary>
    public required string Version { get; init; }
    /// <summary>A file path or an <c>http(s)://</c> URL.</summary>
    public required string Uri { get; init; }
    /// <summary>SHA-256 of the file, 64 hex digits.</summary>
    public required string Sha256 { get; init; }
    public ModelType? ModelType { get; init; }
    /// <summary>Class names, for a model without Ultralytics <c>names</c> metadata.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>
    /// Agreement with the current model the gate needs; default <c>Detector:Rollout:MinAgreement</c>.
    /// </summary>
    public double? MinAgreement { get; init; }
    /// <summary>
    /// Slowdown against the current model this rollout accepts (1–100); default <c>Detector:Rollout:MaxSlowdown</c>.
    /// Probation's speed floor is divided by it too: the operator chose a slower model.
    /// </summary>
    public double? MaxSlowdown { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Parses and validates a control payload.</summary>
    /// <exception cref="MessageFormatException">
    /// The payload is not a valid model request; the message says why.
    /// </exception>
    public static ModelRequest Parse(ReadOnlyMemory<byte> payload)
    {
        ModelRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<ModelRequest>(payload.Span, Json);
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException(
                "Model control message is not valid JSON of version, uri, sha256, modelType, labels, minAgreement, " +
                $"maxSlowdown: {ex.Message}", ex);
        }
        if (request is null) throw new MessageFormatException("Model control message is null.");
        if (!IsSafeVersion(request.Version))
        {
            throw new MessageFormatException(
                $"Model version '{request.Version}' must be 1–64 letters, digits, '.', '-' or '_'.");
        }
        if (string.IsNullOrWhiteSpace(request.Uri)) throw new MessageFormatException("Model uri is empty.");
        if (request.Sha256 is not { Length: 64 } || !request.Sha256.All(System.Uri.IsHexDigit))
            throw new MessageFormatException($"Model sha256 '{request.Sha256}' is not 64 hex digits.");
        if (request.MinAgreement is < 0 or > 1)
            throw new MessageFormatException($"minAgreement {request.MinAgreement} is outside 0–1.");
        if (request.MaxSlowdown is < 1 or > 100)
            throw new MessageFormatException($"maxSlowdown {request.MaxSlowdown} is outside 1–100.");
        if (request.Labels is { Count: 0 } || request.Labels?.Any(string.IsNullOrWhiteSpace) == true)
            throw new MessageFormatException("labels, when given, must be non-empty names.");
        return request with { Sha256 = request.Sha256.ToLowerInvariant() };
    }

    /// <summary>The version names files in the data folder, so it may not contain path characters.</summary>
    private static bool IsSafeVersion(string? version) =>
        version?.Length is > 0 and <= 64
        && version.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
        && version is not ("." or "..");
}
