using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Contracts.Serialization;

/// <summary>
/// Checks what the serializers cannot: MessagePack does not enforce <c>required</c> members or non-null collections,
/// so a well-formed payload of the wrong shape can decode to nulls. Consumers call these before using a message.
/// </summary>
public static class MessageValidation
{
    public static SceneState Validated(this SceneState state)
    {
        Require(state.Camera, "SceneState.camera");
        Require(state.Objects, "SceneState.objects");
        Require(state.Counts, "SceneState.counts");
        Require(state.Frame, "SceneState.frame");
        foreach (var o in state.Objects) Validate(o, "SceneState.objects[]");
        return state;
    }

    public static SceneEvent Validated(this SceneEvent e)
    {
        Require(e.Camera, "SceneEvent.camera");
        Require(e.Type, "SceneEvent.type");
        Require(e.Zones, "SceneEvent.zones");
        Require(e.Changes, "SceneEvent.changes");
        Require(e.Frame, "SceneEvent.frame");
        if (e.Before is { } before) Validate(before, "SceneEvent.before");
        if (e.After is { } after) Validate(after, "SceneEvent.after");
        return e;
    }

    public static ModelStatus Validated(this ModelStatus status)
    {
        Require(status.State, "ModelStatus.state");
        Require(status.Version, "ModelStatus.version");
        Require(status.ActiveVersion, "ModelStatus.activeVersion");
        return status;
    }

    private static void Validate(SceneObject? o, string path)
    {
        Require(o, path);
        Require(o!.TrackId, $"{path}.trackId");
        Require(o.Label, $"{path}.label");
        Require(o.CurrentZones, $"{path}.currentZones");
        Require(o.EnteredZones, $"{path}.enteredZones");
        if (!float.IsFinite(o.Confidence) || !float.IsFinite(o.Box.X1) || !float.IsFinite(o.Box.Y1) ||
            !float.IsFinite(o.Box.X2) || !float.IsFinite(o.Box.Y2))
            throw new MessageFormatException($"{path} has a non-finite confidence or box.");
    }

    private static void Require(object? value, string path)
    {
        if (value is null) throw new MessageFormatException($"{path} is missing.");
    }
}
