# a comparison is not a value
model y = a*x + max(x < 0, b)
loss mean((y - Y)^2)
