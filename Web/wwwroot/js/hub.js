// MultimodalHub browser helpers (loaded as a file: the CSP allows no inline script).
window.hub = {
  markInteractive() { document.body.dataset.interactive = '1'; },
  // Remembers the theme for the next page load (read by the server, so the first paint is right).
  setTheme(mode) {
    document.cookie = `hub-theme=${mode}; path=/; max-age=31536000; samesite=lax`;
  },
  // Forwards images pasted anywhere on the page to a .NET component (Classify, Describe) as a stream reference
  // (read by .NET in chunks, so a large image does not exceed the SignalR message limit); too-large images are
  // refused here, before anything is sent.
  registerPaste(dotnet, maxBytes) {
    const handler = async (e) => {
      const items = Array.from(e.clipboardData?.items ?? []).filter(i => i.kind === 'file' && i.type.startsWith('image/'));
      if (items.length === 0) return;
      e.preventDefault();
      for (const item of items) {
        const file = item.getAsFile();
        if (!file) continue;
        const name = file.name || 'pasted.png';
        if (file.size > maxBytes) {
          await dotnet.invokeMethodAsync('OnPasteTooLarge', name, file.size);
          continue;
        }
        await dotnet.invokeMethodAsync('OnPastedImage', name, file.type, file.size, DotNet.createJSStreamReference(file));
      }
    };
    document.addEventListener('paste', handler);
    return { dispose: () => document.removeEventListener('paste', handler) };
  },
  copyText(text) { return navigator.clipboard?.writeText(text); },
  scrollToBottom(el) { if (el) el.scrollTop = el.scrollHeight; },
};
