using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Pipeline.Tests;

/// <summary>The inbox prefix and durable consumer names a logged-in NATS connection uses, which permissions pin to its user.</summary>
public sealed class NatsUserScope_Tests
{
    [Theory]
    [InlineData("asker", "_INBOX.asker")]
    [InlineData(null, "_INBOX")]
    [InlineData("a.b", "_INBOX")]
    [InlineData("cam*", "_INBOX")]
    public void A_user_that_is_one_token_gets_an_inbox_prefix_of_its_own(string? user, string prefix) =>
        Assert.Equal(prefix, NatsUserScope.InboxPrefix(user));

    [Theory]
    [InlineData("llm", "edge.questions.>", false, "llm~edge~questions~#")]
    [InlineData("llm", "edge.questions", true, "llm~edge~questions")]
    [InlineData("dashboard", "edge.*.cam1", false, "dashboard~edge~+~cam1")]
    [InlineData(null, "edge.questions.>", false, "answers")]
    [InlineData(null, "edge.questions", true, "answers-parent")]
    [InlineData("a.b", "edge.questions", false, "answers")]
    public void A_durable_consumer_is_named_after_the_user_and_subject_or_else_after_its_durable_name(string? user, string subject, bool parent, string name) =>
        Assert.Equal(name, NatsUserScope.DurableConsumer(user, "answers", subject, parent));

    [Theory]
    [InlineData("_INBOX.bob.x1", "bob", true)]
    [InlineData("_INBOX.bobby.x1", "bob", false)]
    [InlineData("_INBOX.x1", "bob", false)]
    [InlineData("edge/answers/bob", "bob", false)]
    public void An_inbox_belongs_to_the_user_it_names(string topic, string user, bool owned) =>
        Assert.Equal(owned, NatsUserScope.IsInboxOf(topic, user));

    [Theory]
    [InlineData("_MYINBOX")]
    [InlineData("_INBOX.>")]
    [InlineData("_INBOX.bob.")]
    public void An_inbox_prefix_outside_INBOX_or_with_wildcards_is_refused_at_start(string prefix)
    {
        var options = TestTransports.Options($"nats://127.0.0.1:{FreePort.Next()}");
        Assert.Throws<ArgumentException>(() => new NatsTransport(options, new NatsOptions { InboxPrefix = prefix }, BrokerAddress.Parse(options.Broker),
            new TopicScheme(), "test", "test", NullLogger.Instance));
    }
}
