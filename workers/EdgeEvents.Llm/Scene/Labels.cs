namespace EdgeEvents.Llm.Scene;

/// <summary>
/// Object labels as people say them: plurals, synonyms and groups ("vehicles") mapped to detector labels (COCO names),
/// and the plural used when answering.
/// </summary>
internal static class Labels
{
    /// <summary>The 80 COCO labels the detector emits.</summary>
    public static readonly IReadOnlyList<string> Coco = Contracts.Messages.CocoLabels.All;

    private static readonly Dictionary<string, string> IrregularPlurals = new(StringComparer.Ordinal)
    {
        ["person"] = "people", ["bus"] = "buses", ["sheep"] = "sheep", ["skis"] = "skis", ["scissors"] = "scissors",
        ["mouse"] = "mice", ["knife"] = "knives", ["wine glass"] = "wine glasses", ["couch"] = "couches",
        ["sandwich"] = "sandwiches", ["bench"] = "benches", ["toothbrush"] = "toothbrushes", ["tv"] = "tvs",
    };

    /// <summary>Words people use for a label (beyond the label and its plural).</summary>
    private static readonly Dictionary<string, string[]> Synonyms = new(StringComparer.Ordinal)
    {
        ["person"] = ["persons", "human", "humans", "man", "men", "woman", "women", "child", "children", "kid", "kids",
            "pedestrian", "pedestrians", "someone", "somebody", "anyone", "anybody", "guy", "guys", "visitor",
            "visitors"],
        ["car"] = ["automobile", "automobiles", "auto", "autos"],
        ["motorcycle"] = ["motorbike", "motorbikes", "scooter", "scooters"],
        ["bicycle"] = ["bike", "bikes", "cycle", "cycles"],
        ["airplane"] = ["plane", "planes", "aeroplane", "aeroplanes", "aircraft"],
        ["bus"] = ["busses", "coach", "coaches"],
        ["truck"] = ["lorry", "lorries", "van", "vans"],
        ["tv"] = ["television", "televisions", "tv set", "screen", "screens"],
        ["cell phone"] = ["phone", "phones", "mobile phone", "mobile phones", "smartphone", "smartphones", "cellphone",
            "cellphones"],
        ["couch"] = ["sofa", "sofas"],
        ["dining table"] = ["table", "tables"],
        ["potted plant"] = ["plant", "plants"],
        ["sports ball"] = ["ball", "balls"],
        ["backpack"] = ["rucksack", "rucksacks"],
        ["handbag"] = ["purse", "purses", "bag", "bags"],
        ["refrigerator"] = ["fridge", "fridges"],
        ["laptop"] = ["computer", "computers", "notebook", "notebooks"],
        ["donut"] = ["doughnut", "doughnuts"],
        ["hair drier"] = ["hair dryer", "hair dryers", "hairdryer"],
        ["dog"] = ["puppy", "puppies"],
        ["cat"] = ["kitten", "kittens"],
    };

    /// <summary>Words that stand for several labels at once (singular; the plural is matched too).</summary>
    private static readonly Dictionary<string, string[]> Groups = new(StringComparer.Ordinal)
    {
        ["vehicle"] = ["car", "truck", "bus", "motorcycle", "bicycle"],
        ["animal"] = ["bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"],
    };

    private static readonly Dictionary<string, LabelMatch> KnownPhrases = BuildPhrases(Coco);

    /// <summary>Longest phrase in <see cref="KnownPhrases"/>, in words.</summary>
    private const int MaxPhraseWords = 3;

    /// <summary>How to say <paramref name="count"/> objects of a label: "1 person", "2 people".</summary>
    public static string CountOf(int count, string label) => $"{count} {(count == 1 ? label : Plural(label))}";

    public static string Plural(string label)
    {
        if (IrregularPlurals.TryGetValue(label, out var plural)) return plural;
        if (label.EndsWith('s') || label.EndsWith('x') || label.EndsWith("ch", StringComparison.Ordinal))
            return label + "es";
        return label + "s";
    }

    /// <summary>
    /// The first object phrase among <paramref name="window"/> words of <paramref name="words"/> from
    /// <paramref name="start"/> on. Labels present in the scene but unknown to COCO (custom models) match too.
    /// </summary>
    public static LabelMatch? Find(IReadOnlyList<string> words, int start, int window, IEnumerable<string> sceneLabels)
    {
        var extra = BuildPhrases(sceneLabels.Where(l => !KnownPhrases.ContainsKey(l)));
        for (var i = start; i < Math.Min(words.Count, start + window); i++)
        {
            for (var n = Math.Min(MaxPhraseWords, words.Count - i); n >= 1; n--)
            {
                var phrase = string.Join(' ', words.Skip(i).Take(n));
                if (KnownPhrases.TryGetValue(phrase, out var match) || extra.TryGetValue(phrase, out match))
                    return match;
            }
        }
        return null;
    }

    private static Dictionary<string, LabelMatch> BuildPhrases(IEnumerable<string> labels)
    {
        var phrases = new Dictionary<string, LabelMatch>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            var key = label.ToLowerInvariant();
            var match = new LabelMatch(label, [label]);
            phrases.TryAdd(key, match);
            phrases.TryAdd(Plural(key), match);
            if (Synonyms.TryGetValue(key, out var synonyms))
                foreach (var synonym in synonyms) phrases.TryAdd(synonym, match);
        }
        if (ReferenceEquals(labels, Coco))
        {
            foreach (var (word, members) in Groups)
            {
                phrases.TryAdd(word, new LabelMatch(word, members));
                phrases.TryAdd(Plural(word), new LabelMatch(word, members));
            }
        }
        return phrases;
    }
}

/// <summary>
/// An object phrase found in a question: its name for answers ("person", "vehicle") and the labels it covers.
/// </summary>
internal sealed record LabelMatch(string Name, IReadOnlyList<string> Labels);
