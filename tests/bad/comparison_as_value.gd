# a comparison is not a value outside a call either
model y = a*x + (x > 0)
loss mean((y - Y)^2)
