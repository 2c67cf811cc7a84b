namespace MultimodalHub.Web.Accounts;

/// <summary>The messages the account pages show for the codes the account endpoints send back.</summary>
public static class AccountMessages
{
    public static string? For(string? code) => code switch
    {
        null or "" => null,
        "mismatch" => "The two passwords differ.",
        "short" => "The password is too short.",
        "taken" => "That user name is taken.",
        "name" => "Use 1 to 64 letters, digits and - . _ @ + for the user name.",
        "wrong" => "The current password is wrong.",
        "self" => "You cannot do that to your own account.",
        "role" => "Unknown role.",
        "unknown" => "Unknown account.",
        _ => "That did not work; try again.",
    };
}
