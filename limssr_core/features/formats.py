"""The file types the extractors read, by role: one list for the CLI (`extract`) and the app alike.

Anything ffmpeg decodes would do; these are the extensions offered and accepted, so a typo or a wrong file is refused
by name before decoding starts. A video file also serves as an audio source (its audio track).
"""

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
                              ".m2ts", ".wmv", ".flv", ".3gp", ".ogv"})
AUDIO_ONLY_EXTENSIONS = frozenset({".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wma"})
AUDIO_EXTENSIONS = AUDIO_ONLY_EXTENSIONS | VIDEO_EXTENSIONS
COMMENTARY_EXTENSIONS = (".srt", ".txt")  # in lookup order: timed subtitles first
