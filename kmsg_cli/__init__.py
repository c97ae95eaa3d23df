"""kmsg: Korean SMS/LMS/MMS and KakaoTalk messages from the command line.

Nothing is imported here on purpose: `kmsg --version` must stay fast.
"""

__version__ = "0.1.0"
