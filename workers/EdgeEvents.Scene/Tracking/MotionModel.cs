using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Scene.Tracking;

/// <summary>
/// Constant-velocity motion model of one box: an alpha-beta filter on the box centre (position and velocity in
/// pixels per second) with the size smoothed separately. An alpha-beta filter is the steady-state form of the
/// constant-velocity Kalman filter: the same predict/correct steps with fixed gains instead of a covariance, which
/// is all a tracker fed by a few detections per second needs, without matrices. Time steps come from capture
/// times, so an irregular frame rate or a missed frame predicts correctly.
/// </summary>
internal struct MotionModel
{
    // Gains: Alpha trusts the measured position; Beta follows Benedict–Bordner (β = α²/(2−α)), the pairing that
    // balances noise reduction against lag for manoeuvring targets.
    private const float Alpha = 0.75f;
    private const float Beta = Alpha * Alpha / (2 - Alpha);
    private const float SizeAlpha = 0.5f;

    private float _x, _y, _vx, _vy, _w, _h;
    private DateTimeOffset _at;

    public MotionModel(Box box, DateTimeOffset at)
    {
        (_x, _y, _w, _h) = (box.CenterX, box.CenterY, box.Width, box.Height);
        _at = at;
    }

    /// <summary>Where the box should be at <paramref name="at"/> if it kept its velocity.</summary>
    public readonly Box Predict(DateTimeOffset at)
    {
        var dt = Seconds(at);
        return Centered(_x + _vx * dt, _y + _vy * dt, _w, _h);
    }

    /// <summary>Corrects the state with a measured box.</summary>
    public void Correct(Box measured, DateTimeOffset at)
    {
        var dt = Seconds(at);
        var (px, py) = (_x + _vx * dt, _y + _vy * dt);
        var (rx, ry) = (measured.CenterX - px, measured.CenterY - py);
        (_x, _y) = (px + Alpha * rx, py + Alpha * ry);
        if (dt > 0)
        {
            _vx += Beta * rx / dt;
            _vy += Beta * ry / dt;
        }
        _w += SizeAlpha * (measured.Width - _w);
        _h += SizeAlpha * (measured.Height - _h);
        _at = at;
    }

    private readonly float Seconds(DateTimeOffset at) => (float)Math.Max(0, (at - _at).TotalSeconds);

    private static Box Centered(float x, float y, float w, float h) => new(x - w / 2, y - h / 2, x + w / 2, y + h / 2);
}
