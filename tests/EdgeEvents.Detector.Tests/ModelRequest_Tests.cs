using System.Text;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector.Rollout;

namespace EdgeEvents.Detector.Tests;

public sealed class ModelRequest_Tests
{
    private const string Sha = "8EA02BA9C1D1A8F6E1C2B3A4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708";

    private static ModelRequest Parse(string extra) =>
        ModelRequest.Parse(Encoding.UTF8.GetBytes($$"""{"version":"v2","uri":"/models/v2.onnx","sha256":"{{Sha}}"{{extra}}}"""));

    [Fact]
    public void A_request_may_accept_its_own_agreement_and_slowdown_and_its_checksum_is_kept_lower_case()
    {
        var request = Parse(""","minAgreement":0.95,"maxSlowdown":6""");

        Assert.Equal((0.95, 6.0), (request.MinAgreement, request.MaxSlowdown));
        Assert.Equal(Sha.ToLowerInvariant(), request.Sha256);
        Assert.Null(Parse("").MaxSlowdown);
    }

    [Theory]
    [InlineData(""","maxSlowdown":0.5""", "maxSlowdown 0.5 is outside 1–100")]
    [InlineData(""","maxSlowdown":101""", "maxSlowdown 101 is outside 1–100")]
    [InlineData(""","minAgreement":1.5""", "minAgreement 1.5 is outside 0–1")]
    [InlineData(""","speedup":2""", "speedup")]
    public void A_request_out_of_range_or_with_an_unknown_field_is_refused_with_the_reason(string extra, string reason)
    {
        var error = Assert.Throws<MessageFormatException>(() => Parse(extra));

        Assert.Contains(reason, error.Message);
    }
}
