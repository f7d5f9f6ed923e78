# Segmented ("broken-stick") regression: a line of slope b up to the breakpoint c and of
# slope d after it, the two joined at the point (c, a). where(x < c, ..., ...) picks the
# piece; the fit moves the breakpoint c too.
model y = where(x < c, a + b*(x - c), a + d*(x - c))
loss mean((y - Y)^2)
