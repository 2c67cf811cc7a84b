namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// Text stop sequences across token boundaries: feed decoded text as it arrives; text that might be the start of a
/// stop sequence is held back until it is known not to be one; once a stop sequence appears, the text before it is
/// released and generation must stop.
/// </summary>
public sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    private readonly System.Text.StringBuilder _pending = new();

    public bool Stopped { get; private set; }

    /// <summary>Add decoded text; returns the text that is safe to emit.</summary>
    public string Push(string text)
    {
        if (Stopped || text.Length == 0) return "";
        if (stops.Count == 0) return text;
        _pending.Append(text);
        var s = _pending.ToString();
        var first = -1;
        foreach (var stop in stops)
        {
            var i = s.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (first < 0 || i < first)) first = i;
        }
        if (first >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return s[..first];
        }
        // Hold back the longest suffix that is a prefix of some stop sequence.
        var hold = 0;
        foreach (var stop in stops)
            for (var n = Math.Min(stop.Length - 1, s.Length); n > hold; n--)
                if (s.AsSpan(s.Length - n).SequenceEqual(stop.AsSpan(0, n))) { hold = n; break; }
        _pending.Clear();
        _pending.Append(s, s.Length - hold, hold);
        return s[..^hold];
    }

    /// <summary>At the end of generation: the held-back text (it did not become a stop sequence).</summary>
    public string Flush()
    {
        var s = _pending.ToString();
        _pending.Clear();
        return Stopped ? "" : s;
    }
}

/// <summary>Why a sequence ended: "stop" (eos or stop sequence), "length" (token limit or context window).</summary>
public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
}
