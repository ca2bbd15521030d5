using SkiaSharp;

namespace EdgeEvents.Detector.Snapshots;

/// <summary>
/// A 5×9 bitmap font (cap height 7, two rows of descender) drawn as filled rectangles, one per horizontal run of ink.
/// The Linux SkiaSharp build we ship (<c>NativeAssets.Linux.NoDependencies</c>) has no font manager, so
/// <c>SKTypeface.Default</c> has no glyphs and text would silently not appear; a pixel font needs no font files on the
/// machine and reads well scaled up. Lower-case letters, digits and <c>. - _ % : ?</c>; upper case is drawn as lower
/// case, anything else as <c>?</c>.
/// </summary>
internal static class PixelFont
{
    public const int GlyphWidth = 5;
    public const int GlyphHeight = 9;
    /// <summary>Glyph plus one column of spacing.</summary>
    public const int Advance = GlyphWidth + 1;

    // Rows top to bottom, '#' = ink; omitted rows at the end are blank.
    private static readonly Dictionary<char, string> Rows = new()
    {
        [' '] = "",
        ['a'] = ".....|.....|.###.|....#|.####|#...#|.####",
        ['b'] = "#....|#....|####.|#...#|#...#|#...#|####.",
        ['c'] = ".....|.....|.####|#....|#....|#....|.####",
        ['d'] = "....#|....#|.####|#...#|#...#|#...#|.####",
        ['e'] = ".....|.....|.###.|#...#|#####|#....|.###.",
        ['f'] = "..##.|.#...|####.|.#...|.#...|.#...|.#...",
        ['g'] = ".....|.....|.####|#...#|#...#|#...#|.####|....#|.###.",
        ['h'] = "#....|#....|####.|#...#|#...#|#...#|#...#",
        ['i'] = "..#..|.....|.##..|..#..|..#..|..#..|.###.",
        ['j'] = "...#.|.....|..##.|...#.|...#.|...#.|...#.|#..#.|.##..",
        ['k'] = "#....|#....|#..#.|#.#..|##...|#.#..|#..#.",
        ['l'] = ".##..|..#..|..#..|..#..|..#..|..#..|.###.",
        ['m'] = ".....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#",
        ['n'] = ".....|.....|####.|#...#|#...#|#...#|#...#",
        ['o'] = ".....|.....|.###.|#...#|#...#|#...#|.###.",
        ['p'] = ".....|.....|####.|#...#|#...#|#...#|####.|#....|#....",
        ['q'] = ".....|.....|.####|#...#|#...#|#...#|.####|....#|....#",
        ['r'] = ".....|.....|#.##.|##..#|#....|#....|#....",
        ['s'] = ".....|.....|.####|#....|.###.|....#|####.",
        ['t'] = ".#...|.#...|####.|.#...|.#...|.#..#|..##.",
        ['u'] = ".....|.....|#...#|#...#|#...#|#..##|.##.#",
        ['v'] = ".....|.....|#...#|#...#|#...#|.#.#.|..#..",
        ['w'] = ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.",
        ['x'] = ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#",
        ['y'] = ".....|.....|#...#|#...#|#...#|#...#|.####|....#|.###.",
        ['z'] = ".....|.....|#####|...#.|..#..|.#...|#####",
        ['0'] = ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
        ['1'] = "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
        ['2'] = ".###.|#...#|....#|...#.|..#..|.#...|#####",
        ['3'] = "####.|....#|....#|.###.|....#|....#|####.",
        ['4'] = "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
        ['5'] = "#####|#....|####.|....#|....#|#...#|.###.",
        ['6'] = "..##.|.#...|#....|####.|#...#|#...#|.###.",
        ['7'] = "#####|....#|...#.|..#..|.#...|.#...|.#...",
        ['8'] = ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
        ['9'] = ".###.|#...#|#...#|.####|....#|...#.|.##..",
        ['.'] = ".....|.....|.....|.....|.....|.##..|.##..",
        ['-'] = ".....|.....|.....|.###.",
        ['_'] = ".....|.....|.....|.....|.....|.....|#####",
        ['%'] = "##...|##..#|...#.|..#..|.#...|#..##|...##",
        [':'] = ".....|.##..|.##..|.....|.##..|.##..",
        ['?'] = ".###.|#...#|....#|...#.|..#..|.....|..#..",
    };

    /// <summary>A horizontal run of ink in a glyph, drawn as one rectangle.</summary>
    private readonly record struct Run(int Row, int Column, int Length);

    private static readonly Dictionary<char, Run[]> Glyphs = Rows.ToDictionary(g => g.Key, g => ToRuns(g.Value));

    private static Run[] ToRuns(string rows)
    {
        var runs = new List<Run>();
        var lines = rows.Split('|');
        for (var row = 0; row < lines.Length; row++)
        {
            var line = lines[row];
            for (var col = 0; col < line.Length; col++)
            {
                if (line[col] != '#') continue;
                var end = col;
                while (end < line.Length && line[end] == '#') end++;
                runs.Add(new Run(row, col, end - col));
                col = end;
            }
        }
        return [.. runs];
    }

    /// <summary>
    /// Width in pixels of <paramref name="text"/> at <paramref name="scale"/> pixels per font pixel (no trailing
    /// spacing).
    /// </summary>
    public static int Measure(string text, int scale) => text.Length == 0 ? 0 : (text.Length * Advance - 1) * scale;

    /// <summary>Height in pixels of a line at <paramref name="scale"/>.</summary>
    public static int LineHeight(int scale) => GlyphHeight * scale;

    /// <summary>
    /// Draws <paramref name="text"/> with its top-left corner at (<paramref name="x"/>, <paramref name="y"/>).
    /// </summary>
    public static void Draw(SKCanvas canvas, string text, float x, float y, int scale, SKPaint paint)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var glyph = Glyphs.TryGetValue(char.ToLowerInvariant(text[i]), out var g) ? g : Glyphs['?'];
            var left = x + i * Advance * scale;
            foreach (var run in glyph)
                canvas.DrawRect(left + run.Column * scale, y + run.Row * scale, run.Length * scale, scale, paint);
        }
    }
}
