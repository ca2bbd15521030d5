using System.Diagnostics;
using EdgeEvents.Broker;
using EdgeEvents.Pipeline.Security;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;

namespace EdgeEvents.Broker.Tests;

/// <summary>
/// A broker with the shipped users and permissions (manifests/security/broker-users.json): the embedded broker
/// configured from that file, or mosquitto with the shipped ACL file. Every user's password is "{user}-secret"; half of
/// the password file is written by <c>mosquitto_passwd</c> and half by <see cref="PasswordHash"/>, so both brokers
/// prove they read both. With <c>tls</c>, the only listener is TLS with a test certificate; with <c>durable</c>, the
/// embedded broker keeps its store in a data folder and <see cref="RestartAsync"/> restarts it.
/// </summary>
public sealed class SecureBroker : IAsyncDisposable
{
    private EmbeddedBroker? _embedded;
    private BrokerOptions? _embeddedOptions;
    private readonly MosquittoBroker? _mosquitto;
    private readonly DirectoryInfo _folder;

    private SecureBroker(EmbeddedBroker? embedded, MosquittoBroker? mosquitto, DirectoryInfo folder, TestCertificates? certificates)
    {
        _embedded = embedded;
        _mosquitto = mosquitto;
        _folder = folder;
        Certificates = certificates;
    }

    public TestCertificates? Certificates { get; }
    public int Port => _embedded is { } e ? e.TlsPort ?? e.Port : _mosquitto!.Port;
    public string Url => $"{(Certificates is null ? "mqtt" : "mqtts")}://127.0.0.1:{Port}";

    public static string ShippedFile(string name) => Path.Combine(TestData.RepositoryRoot, "manifests", "security", name);

    /// <summary>The users and roles of broker-users.json, in file order.</summary>
    public static BrokerOptions ShippedOptions()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(ShippedFile("broker-users.json")).Build();
        var options = new BrokerOptions();
        configuration.GetSection(BrokerOptions.Section).Bind(options);
        return options;
    }

    public static IEnumerable<KeyValuePair<string, BrokerRole>> ShippedUsers() => ShippedOptions().Users.Select(u => KeyValuePair.Create(u.Key, u.Value.Role));

    public static string Password(string user) => $"{user}-secret";

    /// <summary>
    /// A nats-server.conf in <paramref name="folder"/> that includes a copy of the shipped authorization block after
    /// <paramref name="settings"/>; sets the passwords' environment variables, which nats-server inherits from this process.
    /// With <paramref name="extraAskers"/>, the block is the policy rendered for the shipped users plus those askers (the
    /// shipped file is that rendering for the shipped users alone, which <see cref="ShippedPolicy_Tests"/> checks).
    /// </summary>
    public static string ShippedNatsConfig(string folder, string settings = "", params string[] extraAskers)
    {
        var users = ShippedUsers().Concat(extraAskers.Select(a => KeyValuePair.Create(a, BrokerRole.Asker))).ToList();
        var authorization = Path.Combine(folder, "nats-authorization.conf");
        if (extraAskers.Length == 0) File.Copy(ShippedFile("nats-authorization.conf"), authorization);
        else File.WriteAllText(authorization, AccessPolicy.RenderNatsAuthorization(users, ShippedOptions().Prefix));
        var config = Path.Combine(folder, "nats-server.conf");
        File.WriteAllText(config, $"{settings}include \"nats-authorization.conf\"\n");
        foreach (var (user, _) in users) Environment.SetEnvironmentVariable(AccessPolicy.PasswordVariable(user), Password(user));
        return config;
    }

    /// <param name="change">Changes the embedded broker's options (limits).</param>
    public static async Task<SecureBroker> StartAsync(string kind, bool tls = false, bool durable = false, Func<BrokerOptions, BrokerOptions>? change = null)
    {
        var folder = Directory.CreateTempSubdirectory("edge-secure-");
        File.SetUnixFileMode(folder.FullName, (UnixFileMode)0x1ED);
        var passwords = Path.Combine(folder.FullName, "passwd");
        var users = ShippedUsers().Select(u => u.Key).ToList();
        for (var i = 0; i < users.Count; i++)
        {
            if (i % 2 == 0) RunMosquittoPasswd(passwords, users[i]);
            else File.AppendAllText(passwords, $"{users[i]}:{PasswordHash.Create(Password(users[i]))}\n");
        }
        var certificates = tls ? TestCertificates.Create() : null;
        if (kind == MqttTestBroker.Embedded)
        {
            var options = ShippedOptions() with
            {
                BindAddress = "127.0.0.1",
                Port = 0,
                TlsPort = 0,
                PasswordFile = passwords,
                PlainListener = !tls,
                TlsCertificateFile = certificates?.ServerCertificateFile,
                TlsKeyFile = certificates?.ServerKeyFile,
                DataPath = durable ? Path.Combine(folder.FullName, "data") : null,
            };
            if (change is not null) options = change(options);
            return new SecureBroker(await EmbeddedBroker.StartAsync(options, NullLogger.Instance), null, folder, certificates) { _embeddedOptions = options };
        }
        var tlsConfig = certificates is null ? "" : $"cafile {certificates.CaFile}\ncertfile {certificates.ServerCertificateFile}\nkeyfile {certificates.ServerKeyFile}\n";
        // A copy beside the password file: mosquitto started as root reads it as its own user.
        var acl = Path.Combine(folder.FullName, "mosquitto.acl");
        File.Copy(ShippedFile("mosquitto.acl"), acl);
        var mosquitto = await MosquittoBroker.StartNewAsync($"allow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n{tlsConfig}");
        return new SecureBroker(null, mosquitto, folder, certificates);
    }

    /// <summary>A connected transport logged in as <paramref name="user"/> (its component name too).</summary>
    public Task<IMessageTransport> ConnectAsync(string user) =>
        TestTransports.ConnectAsync(TestTransports.Options(Url) with { Username = user, Password = Password(user), CaFile = Certificates?.CaFile }, component: user);

    /// <summary>
    /// Connects a bare MQTTnet client (a random client id unless given; clean start unless a session expiry is given);
    /// returns it with the broker's verdict (the CONNACK reason, or the refusal MQTTnet reports).
    /// </summary>
    public async Task<(IMqttClient Client, string Verdict)> ConnectRawAsync(string? user, string? password = null, string? clientId = null,
        MqttProtocolVersion version = MqttProtocolVersion.V500, TimeSpan? sessionExpiry = null, Func<MqttApplicationMessageReceivedEventArgs, Task>? received = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        if (received is not null) client.ApplicationMessageReceivedAsync += received;
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", Port).WithProtocolVersion(version)
            .WithClientId(clientId ?? $"raw-{Guid.NewGuid():N}"[..20]).WithTimeout(TimeSpan.FromSeconds(5));
        if (sessionExpiry is { } expiry) options.WithCleanStart(false).WithSessionExpiryInterval((uint)expiry.TotalSeconds);
        if (user is not null) options.WithCredentials(user, password ?? Password(user));
        try
        {
            var result = await client.ConnectAsync(options.Build());
            return (client, result.ResultCode.ToString());
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException ex)
        {
            return (client, ex.Message);
        }
    }

    /// <summary>Stops the embedded broker and starts it again on the same port and store, optionally with changed options.</summary>
    public async Task RestartAsync(Func<BrokerOptions, BrokerOptions>? change = null)
    {
        await _embedded!.DisposeAsync();
        _embeddedOptions = (change ?? (o => o))(_embeddedOptions! with { Port = _embedded.Port });
        _embedded = await EmbeddedBroker.StartAsync(_embeddedOptions, NullLogger.Instance);
    }

    private static void RunMosquittoPasswd(string file, string user)
    {
        var info = new ProcessStartInfo("mosquitto_passwd") { ArgumentList = { "-b", file, user, Password(user) }, RedirectStandardError = true };
        if (!File.Exists(file)) info.ArgumentList.Insert(0, "-c");
        using var process = Process.Start(info)!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"mosquitto_passwd failed: {process.StandardError.ReadToEnd()}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
        if (_mosquitto is not null) await _mosquitto.DisposeAsync();
        Certificates?.Dispose();
        _folder.Delete(recursive: true);
    }
}
