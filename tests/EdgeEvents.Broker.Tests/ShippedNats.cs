using System.Text;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace EdgeEvents.Broker.Tests;

/// <summary>nats-server with JetStream and the shipped authorization plus asker <c>bob</c>, in a folder of its own.</summary>
internal sealed class ShippedNats : IAsyncDisposable
{
    private readonly DirectoryInfo _folder;

    private ShippedNats(NatsServer server, DirectoryInfo folder)
    {
        Server = server;
        _folder = folder;
    }

    public NatsServer Server { get; }

    public static async Task<ShippedNats> StartAsync()
    {
        var folder = Directory.CreateTempSubdirectory("edge-nats-js-auth-");
        try
        {
            var config = SecureBroker.ShippedNatsConfig(folder.FullName, "", "bob");
            return new ShippedNats(await NatsServer.StartNewAsync(jetStream: true, extraArguments: $"-c {config}"), folder);
        }
        catch
        {
            folder.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Our transport, logged in as <paramref name="user"/> (its component name too).</summary>
    public Task<IMessageTransport> ConnectAsync(string user, TimeSpan? ackWait = null, ILoggerFactory? loggers = null,
        bool manageStreams = true) =>
        TestTransports.ConnectAsync(TestTransports.Options(Server.Url) with
        {
            Username = user,
            Password = SecureBroker.Password(user),
            Nats = new NatsOptions
            {
                JetStream = new NatsJetStreamOptions
                {
                    AckWait = ackWait ?? TimeSpan.FromSeconds(30), ManageStreams = manageStreams,
                },
            },
        }, component: user, loggers);

    /// <summary>A bare NATS.Net client, as an attacker would use, with its user's own inbox prefix (the only one it may read).</summary>
    public async Task<NatsConnection> ConnectRawAsync(string user)
    {
        var connection = new NatsConnection(NatsOpts.Default with
        {
            Url = Server.Url,
            InboxPrefix = $"_INBOX.{user}",
            RequestTimeout = TimeSpan.FromSeconds(5),
            AuthOpts = NatsAuthOpts.Default with { Username = user, Password = SecureBroker.Password(user) },
        });
        await connection.ConnectAsync();
        return connection;
    }

    /// <summary>The server logged a permission violation naming each of <paramref name="subjects"/>.</summary>
    public void AssertViolations(params string[] subjects)
    {
        var violations = Server.Output.Split('\n').Where(l => l.Contains("Violation", StringComparison.Ordinal)).ToList();
        foreach (var subject in subjects)
            Assert.True(violations.Any(l => l.Contains(subject, StringComparison.Ordinal)), $"No violation for {subject} in:\n{string.Join('\n', violations)}");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _folder.Delete(recursive: true);
    }

    /// <summary>Runs an attempt the server must refuse; returns how the client saw the refusal.</summary>
    public static async Task<string> RefusedAsync(Func<Task> attempt)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => attempt().WaitAsync(timeout.Token));
        return ex.GetType().Name;
    }

    public static OutgoingMessage Text(string topic, string text) => new(topic, Encoding.UTF8.GetBytes(text)) { MessageId = Guid.NewGuid().ToString("N") };

    public static string Of(ReceivedMessage message) => Encoding.UTF8.GetString(message.Payload.Span);
}
