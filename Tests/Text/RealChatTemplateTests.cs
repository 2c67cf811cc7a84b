using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;
using MultimodalHub.Inference.Text.Jinja;

namespace MultimodalHub.Tests.Text;

/// <summary>The chat templates shipped by real model families (text as in their tokenizer_config.json), rendered to their known prompts.</summary>
public sealed class RealChatTemplateTests
{
    // Qwen2.5-Instruct's chat_template (multi-line, relying on {%- -%} whitespace control; tools branch included).
    private const string Qwen25 = """
        {%- if tools %}
            {{- '<|im_start|>system\n' }}
            {%- if messages[0]['role'] == 'system' %}
                {{- messages[0]['content'] }}
            {%- else %}
                {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
            {%- endif %}
            {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
            {%- for tool in tools %}
                {{- "\n" }}
                {{- tool | tojson }}
            {%- endfor %}
            {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
        {%- else %}
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
            {%- else %}
                {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
            {%- endif %}
        {%- endif %}
        {%- for message in messages %}
            {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
                {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
            {%- elif message.role == "assistant" %}
                {{- '<|im_start|>' + message.role }}
                {%- if message.content %}
                    {{- '\n' + message.content }}
                {%- endif %}
                {%- for tool_call in message.tool_calls %}
                    {%- if tool_call.function is defined %}
                        {%- set tool_call = tool_call.function %}
                    {%- endif %}
                    {{- '\n<tool_call>\n{"name": "' }}
                    {{- tool_call.name }}
                    {{- '", "arguments": ' }}
                    {{- tool_call.arguments | tojson }}
                    {{- '}\n</tool_call>' }}
                {%- endfor %}
                {{- '<|im_end|>\n' }}
            {%- elif message.role == "tool" %}
                {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
                    {{- '<|im_start|>user' }}
                {%- endif %}
                {{- '\n<tool_response>\n' }}
                {{- message.content }}
                {{- '\n</tool_response>' }}
                {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
                    {{- '<|im_end|>\n' }}
                {%- endif %}
            {%- endif %}
        {%- endfor %}
        {%- if add_generation_prompt %}
            {{- '<|im_start|>assistant\n' }}
        {%- endif %}

        """;

    private const string Llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    private const string Gemma = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

    private const string Phi3 = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

    // SmolLM2-Instruct: ChatML with literal newlines inside the string literals.
    private const string SmolLm2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    private static readonly ChatMessage[] TwoTurns = [new("user", "Hello"), new("assistant", "Hi there!"), new("user", "How are you?")];

    [Fact]
    public void Qwen25_two_turn_conversation_renders_chatml_with_the_default_system_prompt()
    {
        string prompt = ChatTemplate.Parse(Qwen25).Render(TwoTurns, addGenerationPrompt: true);
        Assert.Equal(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there!<|im_end|>\n" +
            "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void Qwen25_with_system_prompt_and_tools()
    {
        var tools = System.Text.Json.JsonDocument.Parse("""[{"type": "function", "function": {"name": "get_weather", "parameters": {"city": "string"}}}]""").RootElement;
        string prompt = ChatTemplate.Parse(Qwen25).Render([new("system", "Be brief."), new("user", "Weather in Paris?")], true,
            new Dictionary<string, object?> { ["tools"] = tools });
        Assert.StartsWith("<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions", prompt);
        Assert.Contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"city\": \"string\"}}}\n</tools>", prompt);
        Assert.EndsWith("</tool_call><|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void Llama3_renders_headers_bos_and_trimmed_content()
    {
        var template = ChatTemplate.Parse(Llama3, new Dictionary<string, string> { ["bos_token"] = "<|begin_of_text|>" });
        string prompt = template.Render([new("system", "You are a bot."), new("user", "  Hi \n")], addGenerationPrompt: true);
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a bot.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", prompt);
    }

    [Fact]
    public void Gemma_maps_assistant_to_model_and_rejects_bad_conversations()
    {
        var template = ChatTemplate.Parse(Gemma, new Dictionary<string, string> { ["bos_token"] = "<bos>" });
        Assert.Equal(
            "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi there!<end_of_turn>\n" +
            "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n", template.Render(TwoTurns));

        var system = Assert.Throws<InvalidRequestException>(() => template.Render([new("system", "x"), new("user", "y")]));
        Assert.Contains("System role not supported", system.Message);
        var order = Assert.Throws<InvalidRequestException>(() => template.Render([new("user", "x"), new("user", "y")]));
        Assert.Contains("must alternate", order.Message);
    }

    [Fact]
    public void Phi3_uses_eos_token_without_generation_prompt()
    {
        var template = ChatTemplate.Parse(Phi3, new Dictionary<string, string> { ["eos_token"] = "<|endoftext|>" });
        Assert.Equal("<|user|>\nHi<|end|>\n<|assistant|>\n", template.Render([new("user", "Hi")], true));
        Assert.Equal("<|system|>\nS<|end|>\n<|user|>\nHi<|end|>\n<|endoftext|>", template.Render([new("system", "S"), new("user", "Hi")], false));
    }

    [Fact]
    public void SmolLm2_chatml_with_default_system_prompt()
    {
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.Parse(SmolLm2).Render([new("user", "Hi")]));
    }

    [Fact]
    public void Trim_blocks_and_lstrip_blocks_behave_as_in_transformers()
    {
        // transformers renders with trim_blocks=True (newline after a block tag dropped) and lstrip_blocks=True (indent before a block tag dropped).
        const string source = "{% for m in messages %}\n    {% if m.role == 'user' %}\n[{{ m.content }}]\n    {% endif %}\n{% endfor %}\n";
        Assert.Equal("[a]\n[c]\n", ChatTemplate.Parse(source).Render([new("user", "a"), new("assistant", "b"), new("user", "c")]));
    }

    [Theory]
    [InlineData("{{ 'a' ~ 1 ~ none }}", "a1None")]
    [InlineData("{{ [1, 2, 3] | length }}{{ 'abc'[::-1] }}{{ [1, 2, 3][1:] }}", "3cba[2, 3]")]
    [InlineData("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "6")]
    [InlineData("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "1")]
    [InlineData("{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}", "02")]
    [InlineData("{{ 'yes' if x is not defined else 'no' }} {{ y is none }} {{ 'a' in 'cat' }} {{ 2 not in [1] }}", "yes False True True")]
    [InlineData("{{ '  hi  ' | trim }}|{{ 'Hi'.upper() }}|{{ 'a,b'.split(',') | join('-') }}|{{ 'x'.startswith(('y', 'x')) }}", "hi|HI|a-b|True")]
    [InlineData("{{ {'b': [1, 2.5, true, none], 'a': 'é\"'} | tojson }}", "{\"b\": [1, 2.5, true, null], \"a\": \"é\\\"\"}")]
    [InlineData("{% macro greet(name, p='!') %}hi {{ name }}{{ p }}{% endmacro %}{{ greet('bob') }}", "hi bob!")]
    [InlineData("{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}{{ y | default('d') }}", "a=1d")]
    [InlineData("{%- if true -%}\n  x  \n{%- endif -%}\n", "x")]
    [InlineData("{{ 1 }}  {% if true %}x{% endif %}\n  {% if true %}y{% endif %}", "1  xy")]
    [InlineData("{# comment #}{{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 3 }} {{ 1 / 2 }} {{ -3 | abs }}", "3 1 8 0.5 3")]
    [InlineData("{% for m in messages if m.role == 'user' %}{{ loop.index }}{{ m.content }}{% endfor %}", "1a2c")]
    public void Jinja_features_used_by_chat_templates(string source, string expected)
    {
        Assert.Equal(expected, ChatTemplate.Parse(source).Render([new("user", "a"), new("assistant", "b"), new("user", "c")], false));
    }

    [Theory]
    [InlineData("{% if x %}unclosed")]
    [InlineData("{{ 'a' + }}")]
    [InlineData("{% call foo() %}{% endcall %}")]
    public void Unsupported_or_broken_templates_fail_at_load_with_a_clear_message(string source)
    {
        var e = Assert.Throws<JinjaSyntaxException>(() => ChatTemplate.Parse(source));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }
}
