# A line through the origin: one slope w, no intercept, fitted by least squares.
model y = w*x
loss mean((y - Y)^2)
