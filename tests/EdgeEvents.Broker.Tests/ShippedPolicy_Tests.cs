using System.Diagnostics;
using EdgeEvents.Pipeline.Security;

namespace EdgeEvents.Broker.Tests;

/// <summary>The mosquitto ACL and NATS authorization block in manifests/security are the embedded broker's policy, rendered.</summary>
public sealed class ShippedPolicy_Tests
{
    [Theory]
    [InlineData("mosquitto.acl")]
    [InlineData("nats-authorization.conf")]
    public void The_shipped_file_is_the_policy_rendered_for_the_shipped_users(string name)
    {
        var options = SecureBroker.ShippedOptions();
        var users = SecureBroker.ShippedUsers();
        var expected = name == "mosquitto.acl" ? AccessPolicy.RenderMosquittoAcl(users, options.Prefix) : AccessPolicy.RenderNatsAuthorization(users, options.Prefix);
        var shipped = SecureBroker.ShippedFile(name);
        var actual = File.Exists(shipped) ? File.ReadAllText(shipped) : "";
        if (actual != expected)
        {
            var rendered = Path.Combine(Path.GetTempPath(), name);
            File.WriteAllText(rendered, expected);
            Assert.Fail($"{shipped} differs from the policy; the rendered file is at {rendered}: review it and copy it over.");
        }
    }

    [Fact]
    public void Nats_server_accepts_the_shipped_authorization_block()
    {
        var folder = Directory.CreateTempSubdirectory("edge-nats-auth-");
        try
        {
            var config = SecureBroker.ShippedNatsConfig(folder.FullName, "port: 4222\n");
            var info = new ProcessStartInfo("nats-server") { ArgumentList = { "-c", config, "-t" }, RedirectStandardError = true, RedirectStandardOutput = true };
            using var process = Process.Start(info)!;
            var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, text);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
