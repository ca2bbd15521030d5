using System.Diagnostics;
using EdgeEvents.Broker;
using EdgeEvents.Pipeline.Security;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>
/// A broker with the shipped users and permissions (manifests/security/broker-users.json): the embedded broker
/// configured from that file, or mosquitto with the shipped ACL file. Every user's password is "{user}-secret"; half of
/// the password file is written by <c>mosquitto_passwd</c> and half by <see cref="PasswordHash"/>, so both brokers
/// prove they read both. With <c>tls</c>, the only listener is TLS with a test certificate.
/// </summary>
public sealed class SecureBroker : IAsyncDisposable
{
    private readonly EmbeddedBroker? _embedded;
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

    public static async Task<SecureBroker> StartAsync(string kind, bool tls = false)
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
                BindAddress = "127.0.0.1", Port = 0, TlsPort = 0, PasswordFile = passwords,
                PlainListener = !tls, TlsCertificateFile = certificates?.ServerCertificateFile, TlsKeyFile = certificates?.ServerKeyFile,
            };
            return new SecureBroker(await EmbeddedBroker.StartAsync(options, NullLogger.Instance), null, folder, certificates);
        }
        var tlsConfig = certificates is null ? "" : $"cafile {certificates.CaFile}\ncertfile {certificates.ServerCertificateFile}\nkeyfile {certificates.ServerKeyFile}\n";
        // A copy beside the password file: mosquitto started as root reads it as its own user.
        var acl = Path.Combine(folder.FullName, "mosquitto.acl");
        File.Copy(ShippedFile("mosquitto.acl"), acl);
        var mosquitto = await MosquittoBroker.StartNewAsync($"allow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n{tlsConfig}");
        return new SecureBroker(null, mosquitto, folder, certificates);
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
