# Django's zh_Hans formats group no digits ("1952"); the Chinese cloud consoles and finance
# write 1,952, so the console does too. Everything else comes from Django's own zh_Hans formats.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
