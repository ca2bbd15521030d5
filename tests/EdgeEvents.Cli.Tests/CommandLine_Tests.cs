using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using EdgeEvents.Cli.Commands;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Cli.Tests;

public sealed class CommandLine_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Every command of the CLI: each public static <c>Create()</c> returning a <see cref="Command"/> in the commands
    /// namespace.
    /// </summary>
    private static IEnumerable<Command> Commands() =>
        typeof(HostedCommand).Assembly.GetTypes()
            .Select(t => t.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, Type.EmptyTypes))
            .Where(m => m is not null && m.ReturnType == typeof(Command))
            .Select(m => (Command)m!.Invoke(null, null)!);

    /// <summary>
    /// Options records by configuration section: every type with a <c>Section</c> constant in the CLI's assemblies.
    /// </summary>
    private static Dictionary<string, Type> Records()
    {
        var cli = typeof(HostedCommand).Assembly;
        var assemblies = cli.GetReferencedAssemblies()
            .Where(a => a.Name!.StartsWith("EdgeEvents", StringComparison.Ordinal))
            .Select(Assembly.Load)
            .Append(cli);
        return assemblies.SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Section: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Section is { IsLiteral: true } && x.Type.GetConstructor(Type.EmptyTypes) is not null)
            .GroupBy(x => (string)x.Section!.GetRawConstantValue()!)
            .ToDictionary(g => g.Key, g => g.Single().Type);
    }

    [Fact]
    public void Every_help_default_is_the_options_record_default()
    {
        var records = Records();
        var checkedCount = 0;
        foreach (var command in Commands())
        {
            foreach (var (option, key) in HostedCommand.ConfigOptionsOf(command))
            {
                var path = key.Split(':');
                Assert.True(records.ContainsKey(path[0]),
                    $"{command.Name} {option.Name}: no options record for section '{path[0]}'");
                // Nested keys (Bridge:Hub:Broker) walk the record's properties.
                object? value = Activator.CreateInstance(records[path[0]]);
                foreach (var part in path[1..])
                {
                    var property = value?.GetType().GetProperty(part);
                    Assert.True(property is not null,
                        $"{command.Name} {option.Name}: {value?.GetType().Name} has no property {part}");
                    value = property!.GetValue(value);
                }
                var description = option.Description ?? "";
                Assert.True(description.Contains("[default: ") || description.Contains("[required]"),
                    $"{command.Name} {option.Name}: the help states no default: {description}");
                // Without a value (none, empty) the help describes what happens instead; a long text (the system
                // prompt) is named, not quoted.
                if (value is null || value is "" || value is Array { Length: 0 } || value is string { Length: > 80 })
                    continue;
                Assert.True(description.EndsWith(HelpDefault.Of(value), StringComparison.Ordinal),
                    $"{command.Name} {option.Name}: help says '{description}', " +
                    $"{key} defaults to '{HelpDefault.Format(value)}'");
                checkedCount++;
            }
        }
        output.WriteLine($"{checkedCount} help defaults compared with their records");
        Assert.True(checkedCount >= 30, $"only {checkedCount} defaults compared");
    }

    [Theory]
    [InlineData("scene", "--lost-after", "3")]
    [InlineData("detector", "--max-frame-age", "2")]
    [InlineData("llm", "--timeout", "30")]
    [InlineData("ask what", "--timeout", "90")]
    [InlineData("demo", "--duration", "40")]
    public void Every_duration_option_refuses_a_bare_number_with_the_accepted_forms(
        string command, string option, string value)
    {
        var root = new RootCommand();
        foreach (var c in Commands()) root.Subcommands.Add(c);
        var error = Assert.Single(root.Parse([.. command.Split(' '), option, value]).Errors);
        Assert.Equal($"{option}: '{value}' is not a duration: give it a unit (500ms, 2s, 1m, 1h, 1d or hh:mm:ss).",
            error.Message);
        Assert.Empty(root.Parse([.. command.Split(' '), option, value + "s"]).Errors);
    }

    [Theory]
    [InlineData("detector")]
    [InlineData("demo")]
    public void The_data_option_sets_the_detectors_data_path_as_a_full_path(string name)
    {
        var command = Commands().Single(c => c.Name == name);
        var root = new RootCommand { command };

        var parse = root.Parse([name, "--data", "rollout-data"]);

        Assert.Empty(parse.Errors);
        var configuration = HostedCommand.ToConfiguration(parse, HostedCommand.ConfigOptionsOf(command));
        Assert.Equal(Path.GetFullPath("rollout-data"), configuration["Detector:DataPath"]);
    }

    [Fact]
    public async Task Version_prints_the_version_and_the_git_commit_it_was_built_from()
    {
        var gitStart = new ProcessStartInfo("git", "rev-parse HEAD")
        {
            RedirectStandardOutput = true, WorkingDirectory = AppContext.BaseDirectory
        };
        var head = Process.Start(gitStart)!;
        var commit = (await head.StandardOutput.ReadToEndAsync()).Trim();
        await using var cli = CliProcess.StartEdgeEvents("--version");
        Assert.Equal(0, await cli.WaitForExitAsync(Timeout));
        var line = Assert.Single(cli.OutputSoFar);
        output.WriteLine(line);
        Assert.Matches(@"^\d+\.\d+\.\d+\+[0-9a-f]{40}$", line);
        // The build embeds HEAD at build time: the test's own build is of the same checkout.
        Assert.EndsWith(commit, line);
    }
}
