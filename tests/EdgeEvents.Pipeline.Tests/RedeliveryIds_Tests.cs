using System.Text;
using EdgeEvents.Pipeline.Mqtt;
using MQTTnet;

namespace EdgeEvents.Pipeline.Tests;

/// <summary>Issue 20: the id an id-less MQTT message gets, shared by its redeliveries (DUP, same packet id) and no one else.</summary>
public sealed class RedeliveryIds_Tests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-redelivery-ids-");

    private static MqttApplicationMessage Message(string text, bool dup = false, string topic = "edge/questions/alice")
    {
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(text))
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build();
        message.Dup = dup;
        return message;
    }

    [Fact]
    public void A_resend_with_dup_and_the_same_packet_id_keeps_the_id_and_a_deliberate_repeat_gets_a_new_one()
    {
        using var ids = RedeliveryIds.InMemory();

        var first = ids.IdFor(Message("What do you see?"), 7);
        var resent = ids.IdFor(Message("What do you see?", dup: true), 7);
        var askedAgain = ids.IdFor(Message("What do you see?"), 8);
        var otherText = ids.IdFor(Message("Anyone there?", dup: true), 7);
        var otherAsker = ids.IdFor(Message("What do you see?", dup: true, topic: "edge/questions/bob"), 7);

        Assert.Equal(first, resent);
        Assert.Equal(4, new[] { first, askedAgain, otherText, otherAsker }.Distinct().Count());
    }

    [Fact]
    public void A_reused_packet_id_maps_a_resend_to_the_newest_message_under_it()
    {
        using var ids = RedeliveryIds.InMemory();

        var old = ids.IdFor(Message("What do you see?"), 7);
        var reused = ids.IdFor(Message("What do you see?"), 7);

        Assert.NotEqual(old, reused);
        Assert.Equal(reused, ids.IdFor(Message("What do you see?", dup: true), 7));
    }

    [Fact]
    public void Ids_kept_in_a_file_survive_a_restart()
    {
        var path = RedeliveryIds.PathBeside(Path.Combine(_folder.FullName, "llm.outbox.db"));
        string first;
        using (var ids = RedeliveryIds.Open(path)) first = ids.IdFor(Message("What do you see?"), 3);

        using var again = RedeliveryIds.Open(path);

        Assert.EndsWith("llm.outbox.deliveries.db", path);
        Assert.Equal(first, again.IdFor(Message("What do you see?", dup: true), 3));
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
