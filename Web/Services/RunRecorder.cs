using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;

namespace MultimodalHub.Web.Services;

/// <summary>How a recorded page action ended. <see cref="Error"/> is a readable message when it failed.</summary>
public sealed record RunOutcome(long? RunId, RunStatus Status, string? Error)
{
    public bool Succeeded => Status == RunStatus.Succeeded;
    public bool Cancelled => Status == RunStatus.Cancelled;
}

/// <summary>The work ended as a failure the service reported (e.g. a failed image job): recorded with this message.</summary>
public sealed class RunFailedException(string message) : Exception(message);

/// <summary>The service reported the work cancelled (e.g. a job cancelled elsewhere): recorded as cancelled.</summary>
public sealed class RunCancelledException() : OperationCanceledException("The run was cancelled.");

/// <summary>
/// Records one page action as a run: creates it, marks it running, runs the work, then marks it succeeded (or reports
/// a failure when the run was ended elsewhere meanwhile and the store refused the result), cancelled
/// (the caller's token was cancelled, or the work threw <see cref="RunCancelledException"/>) or failed (any other
/// exception, logged, with a readable message from <see cref="RunText.Describe"/>). The final write never uses the
/// caller's token, so a run is never left "running" and no exception escapes into the circuit.
/// A succeeded run's texts are then embedded for search by meaning (<see cref="TextSearch.Notify"/>), when a search is wired.
/// </summary>
public sealed class RunRecorder(IRunStore runs, ILogger<RunRecorder> logger, TextSearch? search = null)
{
    /// <summary>The message when the work finished but the run had already been ended elsewhere.</summary>
    public const string LateResult = "The run had already been ended (for example by recovery after a restart) when its result arrived, so the result was not stored. Run it again.";

    /// <param name="work">Receives the new run's id and <paramref name="ct"/>; returns the outputs to store.</param>
    public async Task<RunOutcome> ExecuteAsync(NewRun newRun, Func<long, CancellationToken, Task<RunOutputs>> work, CancellationToken ct = default)
    {
        long? runId = null;
        try
        {
            var run = await runs.CreateAsync(newRun, CancellationToken.None);
            runId = run.Id;
            await runs.MarkRunningAsync(run.Id, CancellationToken.None);
            var outputs = await work(run.Id, ct);
            if (!await runs.MarkSucceededAsync(run.Id, outputs, CancellationToken.None))
            {
                // Ended meanwhile (failed by another instance's recovery, cancelled elsewhere): its result is not stored.
                logger.LogWarning("{Kind} run {RunId} finished after it had been ended elsewhere; its result was not stored", newRun.Kind, runId);
                return new RunOutcome(runId, RunStatus.Failed, LateResult);
            }
            search?.Notify();
            return new RunOutcome(runId, RunStatus.Succeeded, null);
        }
        catch (OperationCanceledException e) when (ct.IsCancellationRequested || e is RunCancelledException)
        {
            if (runId is { } id) await TryRecordAsync(() => runs.MarkCancelledAsync(id, null, CancellationToken.None), id);
            return new RunOutcome(runId, RunStatus.Cancelled, null);
        }
        catch (Exception e)
        {
            var message = RunText.Describe(e);
            if (RunText.IsExpected(e))
                logger.LogWarning("{Kind} run {RunId} failed: {Error}", newRun.Kind, runId, message);
            else
                logger.LogError(e, "{Kind} run {RunId} failed unexpectedly", newRun.Kind, runId);
            if (runId is { } id) await TryRecordAsync(() => runs.MarkFailedAsync(id, message, null, CancellationToken.None), id);
            return new RunOutcome(runId, RunStatus.Failed, message);
        }
    }

    private async Task TryRecordAsync(Func<Task<bool>> write, long runId)
    {
        try { await write(); }
        catch (Exception e) { logger.LogError(e, "Could not record the outcome of run {RunId}", runId); }
    }
}
