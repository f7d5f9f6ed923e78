param k = 1 in [0, c]
data x, Y
model y = k*x
loss mean((y - Y)^2)
