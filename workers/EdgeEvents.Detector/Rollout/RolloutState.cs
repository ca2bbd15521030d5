using System.Text.Json;

namespace EdgeEvents.Detector.Rollout;

/// <summary>A model file in the data folder and how to load it.</summary>
public sealed record ModelFile(
    string Version, string Path, string Sha256, ModelType ModelType = ModelType.Auto, string? LabelsPath = null);

/// <summary>A requested model this detector will not try again, and why.</summary>
public sealed record RejectedModel(string Version, string Sha256, string State, string Reason);

/// <summary>
/// What a detector remembers across restarts, in <c>{DataPath}/model-state.json</c>: the last model that passed
/// (started with instead of <c>Detector:ModelPath</c>), the one before it (kept for a rollback), a model in probation
/// (a restart during probation rejects it) and the models rejected.
/// </summary>
public sealed record RolloutState
{
    public const string FileName = "model-state.json";

    public ModelFile? Active { get; init; }
    public ModelFile? Previous { get; init; }
    public ModelFile? OnProbation { get; init; }
    public IReadOnlyList<RejectedModel> Rejected { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static RolloutState Load(string dataPath)
    {
        var path = System.IO.Path.Combine(dataPath, FileName);
        if (!File.Exists(path)) return new RolloutState();
        try
        {
            return JsonSerializer.Deserialize<RolloutState>(File.ReadAllText(path), Json) ?? new RolloutState();
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException(
                $"Model state file {path} is not valid: {ex.Message}; delete it to start from Detector:ModelPath.", ex);
        }
    }

    /// <summary>
    /// Writes the state atomically (temporary file, then rename), so a crash leaves the old or the new state.
    /// </summary>
    public void Save(string dataPath)
    {
        var path = System.IO.Path.Combine(dataPath, FileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public RejectedModel? RejectionOf(ModelRequest request) =>
        Rejected.LastOrDefault(r => r.Version == request.Version && r.Sha256 == request.Sha256);

    /// <summary>This state with <paramref name="rejected"/> added (the last 32 are kept).</summary>
    public RolloutState Reject(RejectedModel rejected) =>
        this with { Rejected = Rejected.Append(rejected).TakeLast(32).ToList() };
}
