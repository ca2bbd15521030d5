using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Llm.Scene;

/// <summary>
/// Where the worker's scene comes from. At a site: its own cameras, <c>{prefix}/scene/+</c> and
/// <c>{prefix}/events/+</c>. At a hub (<see cref="LlmOptions.Fleet"/>): every site's,
/// <c>sites/+/{prefix}/scene/+</c> and <c>sites/+/{prefix}/events/+</c>, each camera named <c>{site}/{camera}</c>, so
/// facts and answers say which site they came from.
/// </summary>
internal sealed record SceneSource(string StatesFilter, string EventsFilter, Func<string, string?> CameraOf)
{
    public static SceneSource For(LlmOptions options, TopicScheme topics) =>
        options.Fleet ? Fleet(topics) : Site(topics);

    public static SceneSource Site(TopicScheme topics) =>
        new(topics.AllOf(TopicKind.Scene), topics.AllOf(TopicKind.Events), topic => topics.Parse(topic).Name);

    public static SceneSource Fleet(TopicScheme topics)
    {
        var anySite = $"{FleetTopics.SitesRoot}/+/{topics.Prefix}";
        return new($"{anySite}/scene/+", $"{anySite}/events/+", topic =>
            FleetTopics.FromHub(topic) is var (site, local) && topics.Parse(local).Name is { } camera
                ? $"{site}/{camera}"
                : null);
    }
}
