using EdgeEvents.Contracts.Messages;
using EdgeEvents.Llm.Scene;

namespace EdgeEvents.Llm.Tests;

public sealed class Scene_Tests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 15, 0, TimeSpan.Zero);

    internal static SceneState State(string camera, DateTimeOffset at, params (string Label, int Count)[] counts) =>
        new()
        {
            Camera = camera,
            CreatedAt = at,
            Frame = new FrameRef { Sequence = 7, CapturedAt = at },
            Counts = counts.ToDictionary(c => c.Label, c => c.Count),
            Objects = counts.SelectMany(c => Enumerable.Range(0, c.Count).Select(i => new SceneObject
            {
                TrackId = $"{camera}-{c.Label}-{i}",
                Label = c.Label,
                Confidence = 0.9f,
                FirstSeen = at.AddSeconds(-5),
                LastSeen = at,
            })).ToList(),
        };

    private static SceneContext Context(params SceneState[] states)
    {
        var context = new SceneContext(recentEvents: 3);
        foreach (var state in states) context.Apply(state);
        return context;
    }

    private static string? Ask(SceneContext context, string question, string? camera = null)
    {
        var scope = camera ?? FactsAnswerer.CameraMentioned(question, context.Cameras);
        return FactsAnswerer.Answer(question, context.Snapshot(scope), scope);
    }

    [Fact]
    public void Latest_state_wins_and_a_late_older_state_is_ignored()
    {
        var context = Context(
            State("cam1", T0, ("person", 1)),
            State("cam1", T0.AddSeconds(2), ("person", 3)),
            State("cam1", T0.AddSeconds(1), ("person", 2)));

        var facts = Assert.Single(context.Snapshot()).ToFacts();
        Assert.Equal(3, facts.Counts["person"]);
        Assert.Equal(T0.AddSeconds(2), facts.At);
    }

    [Fact]
    public void Events_are_kept_newest_first_bounded_and_deduplicated_by_id()
    {
        var context = new SceneContext(recentEvents: 3);
        var events = Enumerable.Range(0, 5)
            .Select(i => new SceneEvent { Id = $"e{i}", Camera = "cam1", Type = SceneEventTypes.New, Label = "person" })
            .ToList();
        foreach (var e in events) Assert.True(context.Apply(e));

        Assert.False(context.Apply(events[4]));
        Assert.False(context.Apply(events[0]), "an evicted event redelivered later is still a duplicate");
        Assert.Equal(["e4", "e3", "e2"], Assert.Single(context.Snapshot()).ToFacts().EventIds);
    }

    [Theory]
    [InlineData("How many people are in the room?", "There are 2 people on cam1.")]
    [InlineData("how many persons?", "There are 2 people on cam1.")]
    [InlineData("How many humans can you count", "There are 2 people on cam1.")]
    [InlineData("How many cars?", "There is 1 car on cam1.")]
    [InlineData("How many dogs are there", "There are no dogs on cam1.")]
    [InlineData("How many vehicles are there?", "There are 2 vehicles on cam1 (1 car, 1 bus).")]
    [InlineData("Is there a car?", "Yes: 1 car on cam1.")]
    [InlineData("Is anyone there?", "Yes: 2 people on cam1.")]
    [InlineData("Any dogs?", "No, there are no dogs on cam1.")]
    [InlineData("Do you see a bicycle", "No, there are no bicycles on cam1.")]
    [InlineData("What do you see?", "cam1: 2 people, 1 bus, 1 car.")]
    public void Facts_answer_counts_presence_and_what_is_seen_with_plurals_and_synonyms(
        string question, string expected)
    {
        var context = Context(State("cam1", T0, ("person", 2), ("car", 1), ("bus", 1)));

        Assert.Equal(expected, Ask(context, question));
    }

    [Theory]
    [InlineData("Tell me a story about a dragon")]
    [InlineData("Why is the sky blue?")]
    [InlineData("How many times did it rain?")]
    public void Questions_the_facts_do_not_answer_get_no_facts_answer(string question)
    {
        Assert.Null(Ask(Context(State("cam1", T0, ("person", 2))), question));
    }

    [Fact]
    public void Camera_scope_comes_from_the_question_field_or_from_a_camera_named_in_the_text()
    {
        var context = Context(State("cam1", T0, ("person", 2)), State("garage-2", T0, ("person", 1), ("car", 2)));

        Assert.Equal("There are 3 people: 2 on cam1, 1 on garage-2.", Ask(context, "How many people?"));
        Assert.Equal("There are 2 people on cam1.", Ask(context, "How many people?", camera: "cam1"));
        Assert.Equal("There are 2 cars on garage-2.", Ask(context, "How many cars on garage-2?"));
        Assert.Equal("cam1: 2 people. garage-2: 2 cars, 1 person.", Ask(context, "What do you see?"));
        Assert.Equal("I have no scene data for camera cam9.", Ask(context, "How many people?", camera: "cam9"));
        Assert.Equal("I have no scene data yet.", Ask(new SceneContext(3), "Is there a person?"));
    }

    /// <summary>A measure with no budget limit: the whole scene.</summary>
    private static string Whole(SceneContext context, int maxObjects = 10, string? scope = null) =>
        SceneSummary.Fit(context.Snapshot(scope), T0.AddSeconds(3), maxObjects, scope, [], _ => 0, 0).Text;

    [Fact]
    public void Summary_lists_counts_objects_and_recent_events_with_times_and_says_what_it_left_out()
    {
        var context = Context(State("cam1", T0, ("person", 2), ("car", 1)));
        context.Apply(new SceneEvent
        {
            Id = "e1",
            Camera = "cam1",
            Type = SceneEventTypes.New,
            Label = "person",
            TrackId = "t9",
            CreatedAt = T0.AddSeconds(-1),
            Zones = ["door"],
        });

        Assert.Equal("""
            Time now: 2026-11-28 10:15:03Z
            Camera cam1 at 2026-11-28 10:15:00Z: 2 people, 1 car.
            - person cam1-person-0, confidence 0.90, seen since 2026-11-28 10:14:55Z
            - person cam1-person-1, confidence 0.90, seen since 2026-11-28 10:14:55Z
            Recent events on cam1:
            - 2026-11-28 10:14:59Z new person t9 in door
            List shortened: 1 object not listed; the counts of the cameras listed are complete.

            """.ReplaceLineEndings("\n"), Whole(context, maxObjects: 2));
        Assert.DoesNotContain("List shortened", Whole(context, maxObjects: 3));
    }

    /// <summary>
    /// Three cameras with 4 objects and 3 events each (event i of camera c at T0 + 10 c + i seconds).
    /// </summary>
    private static SceneContext BusyScene()
    {
        var context = new SceneContext(recentEvents: 3);
        foreach (var (camera, c) in new[] { ("cam1", 0), ("cam2", 1), ("cam3", 2) })
        {
            context.Apply(State(camera, T0, ("person", 2), ("car", 2)));
            for (var i = 0; i < 3; i++)
            {
                context.Apply(new SceneEvent
                {
                    Id = $"{camera}-e{i}",
                    Camera = camera,
                    Type = SceneEventTypes.New,
                    Label = "car",
                    TrackId = $"{camera}-car-{i}",
                    CreatedAt = T0.AddSeconds(10 * c + i),
                });
            }
        }
        return context;
    }

    private static SceneSummaryFit FitByLength(SceneContext context, int budget, params string[] named) =>
        SceneSummary.Fit(context.Snapshot(), T0.AddSeconds(60), 10, null, named, text => text.Length, budget);

    [Fact]
    public void A_scene_just_over_budget_first_loses_the_oldest_events_of_the_cameras_the_question_does_not_name()
    {
        var context = BusyScene();
        var whole = FitByLength(context, int.MaxValue, "cam1");

        var fit = FitByLength(context, whole.Tokens - 1, "cam1");

        // The note costs more than one event line, so three go: cam2's, the oldest after the named cam1's.
        Assert.Equal(3, fit.Cuts);
        Assert.True(fit.Tokens <= whole.Tokens - 1);
        Assert.DoesNotContain("Recent events on cam2", fit.Text);
        Assert.Contains("cam1-car-0\n", fit.Text);
        Assert.Contains("cam3-car-0\n", fit.Text);
        Assert.Equal(12, fit.Text.Split('\n').Count(line => line.Contains(", confidence ", StringComparison.Ordinal)));
        Assert.EndsWith(
            "List shortened: 3 events not listed; the counts of the cameras listed are complete.\n", fit.Text);
    }

    [Fact]
    public void Under_any_budget_the_summary_fits_and_the_named_camera_keeps_its_detail_longest_and_its_counts_always()
    {
        var context = BusyScene();
        var whole = FitByLength(context, int.MaxValue, "cam2");
        var minimal = FitByLength(context, 0, "cam2");

        // The minimal summary: the time, the named camera's counts and the note; it exceeds a budget of 0 and says so
        // by its measure.
        Assert.Equal("""
            Time now: 2026-11-28 10:16:00Z
            Camera cam2 at 2026-11-28 10:15:00Z: 2 cars, 2 people.
            List shortened: 12 objects, 9 events, 2 cameras not listed; the counts of the cameras listed are complete.

            """.ReplaceLineEndings("\n"), minimal.Text);
        Assert.True(minimal.Tokens > 0);
        for (var budget = minimal.Tokens; budget <= whole.Tokens; budget += 7)
        {
            var fit = FitByLength(context, budget, "cam2");
            Assert.True(fit.Tokens <= budget, $"{fit.Tokens} > {budget}");
            Assert.Contains("Camera cam2 at 2026-11-28 10:15:00Z: 2 cars, 2 people.\n", fit.Text);
            // While another camera still lists anything, the named camera lists everything.
            if (fit.Text.Contains("- person cam1-", StringComparison.Ordinal)
                || fit.Text.Contains("- person cam3-", StringComparison.Ordinal)
                || fit.Text.Contains("Recent events on cam1", StringComparison.Ordinal)
                || fit.Text.Contains("Recent events on cam3", StringComparison.Ordinal))
            {
                Assert.Contains("cam2-car-0\n", fit.Text);
                Assert.Contains("- person cam2-person-1", fit.Text);
            }
            // Counts before objects: a camera that lists an object also has its counts line.
            foreach (var camera in new[] { "cam1", "cam3" })
            {
                if (fit.Text.Contains($"- person {camera}-", StringComparison.Ordinal))
                    Assert.Contains($"Camera {camera} at", fit.Text);
            }
        }
    }
}
