param W[2, 2] = 3 in [-1, 1]
data x, Y
model y = sum(W)*x
loss mean((y - Y)^2)
