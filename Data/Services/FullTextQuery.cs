using System.Text;
using System.Text.RegularExpressions;

namespace MultimodalHub.Data.Services;

/// <summary>Turns free text into a safe SQLite FTS5 query (or a PostgreSQL tsquery): every word quoted and prefix-matched, all words required.
/// User input never reaches FTS5 syntax (no operators, columns or NEAR from the user).</summary>
internal static partial class FullTextQuery
{
    private const int MaxTerms = 16;

    public static string? Build(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var sb = new StringBuilder();
        foreach (var term in Words().Matches(text).Select(m => m.Value).Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxTerms))
        {
            if (sb.Length > 0)
                sb.Append(' ');
            sb.Append('"').Append(term.Replace("\"", "\"\"")).Append("\"*");
        }
        return sb.Length == 0 ? null : sb.ToString();
    }

    /// <summary>The same words as a PostgreSQL tsquery (<c>'red':* &amp; 'star':*</c>) for <c>to_tsquery('simple', ...)</c>;
    /// the words hold only letters, digits and underscores, so nothing in them is tsquery syntax.</summary>
    public static string? BuildTsQuery(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var terms = Words().Matches(text).Select(m => m.Value).Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxTerms)
            .Select(t => $"'{t}':*").ToList();
        return terms.Count == 0 ? null : string.Join(" & ", terms);
    }

    [GeneratedRegex(@"[\p{L}\p{N}_]{1,64}")]
    private static partial Regex Words();
}
