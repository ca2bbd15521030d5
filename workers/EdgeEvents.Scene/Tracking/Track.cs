using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Scene.Tracking;

/// <summary>One object followed across frames. Tentative until confirmed; only confirmed tracks have an id.</summary>
public sealed class Track
{
    private readonly List<string> _currentZones = [];
    private readonly List<string> _enteredZones = [];
    private MotionModel _motion;
    private float _anchorX, _anchorY;
    private DateTimeOffset _anchorSince;

    internal Track(Detection detection, DateTimeOffset at, IReadOnlyList<Zone> zones)
    {
        Label = detection.Label;
        ClassId = detection.ClassId;
        FirstSeen = at;
        _motion = new MotionModel(detection.Box, at);
        (_anchorX, _anchorY, _anchorSince) = (detection.Box.CenterX, detection.Box.CenterY, at);
        Observe(detection, at, zones);
        Predicted = detection.Box;
    }

    /// <summary><c>{camera}-{first seen, UTC yyyyMMddHHmmss}-{n}</c>; null while the track is tentative.</summary>
    public string? Id { get; private set; }
    public bool IsConfirmed => Id is not null;
    public string Label { get; }
    public int ClassId { get; }
    /// <summary>The last matched detection's box.</summary>
    public Box Box { get; private set; }
    public float Confidence { get; private set; }
    public float TopConfidence { get; private set; }
    public DateTimeOffset FirstSeen { get; }
    public DateTimeOffset LastSeen { get; private set; }
    /// <summary>Consecutive matches while tentative; total matches once confirmed.</summary>
    public int Hits { get; private set; }
    public bool Stationary { get; private set; }
    /// <summary>Zones the box's bottom-centre is in now.</summary>
    public IReadOnlyList<string> CurrentZones => _currentZones;
    /// <summary>Every zone entered over the track's life, in order of first entry.</summary>
    public IReadOnlyList<string> EnteredZones => _enteredZones;

    /// <summary>This frame's predicted box; set by <see cref="Predict"/> before association.</summary>
    internal Box Predicted { get; private set; }

    internal void Predict(DateTimeOffset at) => Predicted = _motion.Predict(at);

    internal void Confirm(string id) => Id = id;

    /// <summary>Takes a matched detection: motion, confidence, stationary flag and zones.</summary>
    internal void Update(Detection detection, DateTimeOffset at, IReadOnlyList<Zone> zones, SceneOptions options)
    {
        _motion.Correct(detection.Box, at);
        Observe(detection, at, zones);
        var (x, y) = (detection.Box.CenterX, detection.Box.CenterY);
        var (dx, dy) = (x - _anchorX, y - _anchorY);
        if (dx * dx + dy * dy > options.StationaryDistance * options.StationaryDistance)
        {
            // Moved away from where it was resting: start measuring stillness from here.
            (_anchorX, _anchorY, _anchorSince) = (x, y, at);
            Stationary = false;
        }
        else if (at - _anchorSince >= options.StationaryAfter)
        {
            Stationary = true;
        }
    }

    private void Observe(Detection detection, DateTimeOffset at, IReadOnlyList<Zone> zones)
    {
        Box = detection.Box;
        Confidence = detection.Confidence;
        TopConfidence = Math.Max(TopConfidence, detection.Confidence);
        LastSeen = at;
        Hits++;
        _currentZones.Clear();
        foreach (var zone in zones)
        {
            if (!zone.Contains(detection.Box.CenterX, detection.Box.Y2)) continue;
            _currentZones.Add(zone.Name);
            if (!_enteredZones.Contains(zone.Name)) _enteredZones.Add(zone.Name);
        }
    }

    /// <summary>The track as published; only for confirmed tracks.</summary>
    public SceneObject ToSceneObject() => new()
    {
        TrackId = Id ?? throw new InvalidOperationException("A tentative track has no id to publish."),
        Label = Label,
        ClassId = ClassId,
        Confidence = Confidence,
        TopConfidence = TopConfidence,
        Box = Box,
        FirstSeen = FirstSeen,
        LastSeen = LastSeen,
        Stationary = Stationary,
        CurrentZones = [.. _currentZones],
        EnteredZones = [.. _enteredZones],
    };
}
