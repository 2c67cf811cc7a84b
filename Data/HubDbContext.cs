namespace MultimodalHub.Data;

/// <summary>Placeholder until the data model lands.</summary>
public static class DataAssembly;
