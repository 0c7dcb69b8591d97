// Loaded before the Bootstrap Italia bundle: stops the bundled video.js from injecting <style> tags (CSP).
window.VIDEOJS_NO_DYNAMIC_STYLE = true;
